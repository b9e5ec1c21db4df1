"""Forms of the online-course pages: the upload of the platform's list, the list's filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import FileImportForm, FilterForm, upload_field


class CourseImportForm(FileImportForm):
    file = upload_field(_("Enrolment and completion list of the online-course platform"))


class CourseFilterForm(FilterForm):
    """Search, course and completion filters of the learners' list."""

    STATUS_CHOICES = [
        ("", _("Completed or not")),
        ("completed", _("Completed")),
        ("not_completed", _("Not completed")),
    ]

    course = forms.ChoiceField(label=_("Course"), required=False)
    status = forms.ChoiceField(label=_("Completion"), choices=STATUS_CHOICES, required=False)

    def __init__(self, data, *, courses: list[str], **kwargs):
        """`courses`: the courses of the records the user can see."""
        super().__init__(data, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Name, agency, e-mail or phone")
        self.fields["course"].choices = [("", _("Any course")), *((c, c) for c in courses)]
