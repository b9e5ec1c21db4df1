"""The targets, indicators and report pages; dashboard/urls.py includes them under the
"dashboard" namespace (so: dashboard:target_list). See records_views for who may use them."""

from django.urls import path

from . import records_views as views

urlpatterns = [
    path("targets/", views.target_list, name="target_list"),
    path("targets/new/", views.target_create, name="target_create"),
    path("targets/split/", views.target_split, name="target_split"),
    path("targets/<int:pk>/edit/", views.target_edit, name="target_edit"),
    path("targets/<int:pk>/delete/", views.target_delete, name="target_delete"),
    path("indicators/", views.indicator_list, name="indicator_list"),
    path("indicators/new/", views.indicator_create, name="indicator_create"),
    path("indicators/<int:year>/edit/", views.indicator_edit, name="indicator_edit"),
    path(
        "district/<int:code>/report/<int:year>-<int:month>.xlsx",
        views.report_district_month,
        name="report_district_month",
    ),
]
