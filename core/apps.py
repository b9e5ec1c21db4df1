from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """What every app shares; it knows none of them."""

    name = "core"
    verbose_name = _("Shared plumbing")

    def ready(self) -> None:
        from . import lookups  # noqa: F401 - registers `__any` on every field
