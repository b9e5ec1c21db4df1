"""Forms of the online-course pages: the upload of the platform's list, the list's filters."""

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from outreach.forms.imports import ACCEPTED_EXTENSIONS
from outreach.forms.teams import FilterForm

from ..models import CourseImport


class CourseImportForm(forms.Form):
    file = forms.FileField(
        label=_("Enrolment and completion list of the online-course platform"),
        help_text=_("An Excel workbook (.xlsx) or a CSV file, up to 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if name.endswith(".xls"):
            raise forms.ValidationError(
                _("Old Excel files (.xls) cannot be read. Save the file as .xlsx or as CSV UTF-8.")
            )
        if not name.endswith(ACCEPTED_EXTENSIONS):
            raise forms.ValidationError(_("Upload an Excel workbook (.xlsx) or a CSV file."))
        if upload.size > CourseImport.MAX_FILE_SIZE:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s. Split it into several files.")
                % {"limit": filesizeformat(CourseImport.MAX_FILE_SIZE)}
            )
        if not upload.size:
            raise forms.ValidationError(_("The file is empty."))
        return upload


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
