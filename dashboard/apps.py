from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Dashboard")

    def ready(self) -> None:
        # Writers queue the roll-up by its registered name: importing the tasks here
        # registers them in every process (web, worker, beat, management commands).
        from . import tasks  # noqa: F401
