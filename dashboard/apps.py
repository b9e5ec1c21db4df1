from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Dashboard")

    def ready(self) -> None:
        # Writers queue the roll-up by its registered name: importing the tasks here
        # registers them in every process (web, worker, beat, management commands).
        from core.cache import read_ahead_register
        from core.marks import buckets_changed, changes_committed

        from . import tasks  # noqa: F401
        from .queue import buckets_record, rollup_queue
        from .rollup import state_read_ahead_keys
        from .services import access_rules_register

        access_rules_register()
        read_ahead_register(state_read_ahead_keys)

        # Writers say what changed through core.marks, which knows no dashboard.
        buckets_changed.connect(buckets_record, dispatch_uid="dashboard.buckets_record")
        changes_committed.connect(rollup_queue, dispatch_uid="dashboard.rollup_queue")
