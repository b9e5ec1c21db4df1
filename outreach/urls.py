from .views import history, households, imports, privacy, teams, visits

app_name = "outreach"

# Each area of outreach keeps its routes beside its views.
urlpatterns = (
    teams.urlpatterns
    + visits.urlpatterns
    + households.urlpatterns
    + imports.urlpatterns
    + history.urlpatterns
    + privacy.urlpatterns
)
