"""Forms of the online-course pages: the upload of the platform's list (the learners'
list's filters are trainings.filters.CourseFilter)."""

from django.utils.translation import gettext_lazy as _

from core.forms import FileImportForm, upload_field


class CourseImportForm(FileImportForm):
    file = upload_field(_("Enrolment and completion list of the online-course platform"))
