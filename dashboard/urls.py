from django.urls import path

from . import records_urls, views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("communes/", views.communes, name="communes"),
    path("district/<int:code>/", views.district, name="district"),
    path("commune/<int:code>/", views.commune, name="commune"),
    path("team/<int:pk>/", views.team, name="team"),
    path("export/<str:table>.<str:fmt>", views.export, name="export"),
    *records_urls.urlpatterns,
]
