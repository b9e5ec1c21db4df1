from .views import history, households, imports, offline, privacy, teams, visits

app_name = "outreach"

# Each area of outreach keeps its routes beside its views.
urlpatterns = (
    teams.urlpatterns
    + visits.urlpatterns
    + offline.urlpatterns
    + households.urlpatterns
    + imports.urlpatterns
    + history.urlpatterns
    + privacy.urlpatterns
)
