from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingsConfig(AppConfig):
    name = "trainings"
    verbose_name = _("Trainings")

    def ready(self) -> None:
        from outreach.signals import member_personal_data_erased

        from .services import member_attendance_erase

        member_personal_data_erased.connect(
            member_attendance_erase, dispatch_uid="trainings.member_attendance_erase"
        )
