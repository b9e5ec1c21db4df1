"""The upload forms of the spreadsheet imports: the member import's, and their base."""

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..models import FileImport

ACCEPTED_EXTENSIONS = (".xlsx", ".csv")


def upload_field(label: Promise) -> forms.FileField:
    return forms.FileField(
        label=label,
        help_text=_("An Excel workbook (.xlsx) or a CSV file, up to 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS)}),
    )


class FileImportForm(forms.Form):
    """An uploaded workbook or CSV file, refused early when no import could read it."""

    file = upload_field(_("File"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if name.endswith(".xls"):
            raise forms.ValidationError(
                _("Old Excel files (.xls) cannot be read. Save the file as .xlsx or as CSV UTF-8.")
            )
        if not name.endswith(ACCEPTED_EXTENSIONS):
            raise forms.ValidationError(_("Upload an Excel workbook (.xlsx) or a CSV file."))
        if upload.size > FileImport.MAX_FILE_SIZE:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s. Split it into several files.")
                % {"limit": filesizeformat(FileImport.MAX_FILE_SIZE)}
            )
        if not upload.size:
            raise forms.ValidationError(_("The file is empty."))
        return upload


class MemberImportForm(FileImportForm):
    file = upload_field(_("List of teams and members"))
    create_logins = forms.BooleanField(
        label=_("Create logins for the leaders (login name: their phone number)"),
        required=False,
    )
