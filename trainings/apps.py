from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingsConfig(AppConfig):
    name = "trainings"
    verbose_name = _("Trainings")

    def ready(self) -> None:
        from core.signals import personal_data_erased

        from .services import access_rules_register, member_attendance_erase

        access_rules_register()
        personal_data_erased.connect(
            member_attendance_erase, dispatch_uid="trainings.member_attendance_erase"
        )
