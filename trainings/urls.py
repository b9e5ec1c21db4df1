from .views import courses, sessions

app_name = "trainings"

urlpatterns = sessions.urlpatterns + courses.urlpatterns
