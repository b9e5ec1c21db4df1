from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.forms import LoginForm

from . import landing, metrics, pwa, service_worker, views

admin.site.site_header = "Nam Định — Công dân số"
admin.site.site_title = "Nam Định — Công dân số"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/figures", views.healthz_figures, name="healthz_figures"),
    path("manifest.webmanifest", pwa.web_manifest, name="web_manifest"),
    path("sw.js", service_worker.service_worker, name="service_worker"),
    path(settings.METRICS_PATH, metrics.metrics, name="metrics"),
    path(
        "accounts/login/",
        landing.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("outreach.urls")),
    path("trainings/", include("trainings.urls")),
    path("dashboard/", include("dashboard.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
]

handler403 = "config.views.permission_denied"
handler500 = "config.views.server_error"
