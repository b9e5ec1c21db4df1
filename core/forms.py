"""Form plumbing every app shares: a service's errors put on a form, and the spreadsheet
upload. (The filter bars' base is core.filters.)"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .fields import labelled_error
from .models import FileImport


def errors_to_form(
    form: forms.Form,
    error: ValidationError,
    *,
    fallback_field: str | None = None,
    messages_for_field: dict[str, str] | None = None,
    field_of: dict[str, str] | None = None,
    model: type[models.Model] | None = None,
) -> None:
    """Put a service's ValidationError on the form, each message beside its field.

    `messages_for_field` moves a known non-field message (a constraint's) beside the
    field it concerns. Other messages for fields the form does not show go above the
    form, or beside `fallback_field`, named with the label of `model`'s field.
    `field_of` names the form field that shows a model field of another name (the visit
    form's address for the visit's household).
    """
    moves = {str(message): field for message, field in (messages_for_field or {}).items()}
    items = error.error_dict.items() if hasattr(error, "error_dict") else [(None, error.error_list)]
    for key, errors in items:
        field = (field_of or {}).get(key, key)
        for item in errors:
            for message in item.messages:
                if field in form.fields:
                    form.add_error(field, message)
                elif message in moves:
                    form.add_error(moves[message], message)
                else:
                    form.add_error(fallback_field, labelled_error(message, model, key))


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


# --- Widgets written in Python ----------------------------------------------------------
# Django renders each widget, and each option of a select, through its own template: a
# dashboard's filter bar (a period, two dates, eleven districts) took 4 ms of a page
# computed for a new period. These keep Django's context (values, selection, the
# attributes BoundField adds: id, aria-describedby, aria-invalid) and write the same
# elements in Python. Test: core/tests/test_plain_widgets.py.


def _attributes(attrs: dict) -> str:
    # As django/forms/widgets/attrs.html: False leaves the attribute out, True writes it
    # bare, anything else as its text.
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class PlainSelect(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        if any(group is not None for group, _options, _index in widget["optgroups"]):
            return super().render(name, value, attrs, renderer)  # <optgroup>: Django's
        options = "".join(
            f'<option value="{escape(str(option["value"]))}"{_attributes(option["attrs"])}>'
            f"{conditional_escape(option['label'])}</option>"
            for _group, group_options, _index in widget["optgroups"]
            for option in group_options
        )
        return mark_safe(
            f'<select name="{escape(widget["name"])}"{_attributes(widget["attrs"])}>'
            f"{options}</select>"
        )


class PlainDateInput(forms.DateInput):
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{escape(str(widget["value"]))}"'
        return mark_safe(
            f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"'
            f"{shown}{_attributes(widget['attrs'])}>"
        )
