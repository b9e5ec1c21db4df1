"""For tests that run a data migration's function on today's database."""

from django.apps import apps as live_apps

# Models that moved to another app after the migrations that use them were written.
MOVED = {("communes", "pendingrollup"): ("dashboard", "PendingRollup")}


class AppsToday:
    """The live app registry, as a data migration written before a model moved asks it
    for its models (apps.get_model("communes", "PendingRollup") is dashboard's today)."""

    def get_model(self, app_label: str, model_name: str | None = None):
        if model_name is None:
            app_label, model_name = app_label.split(".")
        app_label, model_name = MOVED.get((app_label, model_name.lower()), (app_label, model_name))
        return live_apps.get_model(app_label, model_name)


apps = AppsToday()
