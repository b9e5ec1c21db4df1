"""Spreadsheet files in Django admin (django-import-export), made like the portal's own.

Exports: the columns headed by the fields' names in the reader's language, choices as
their labels, yes and no as words, CSV with a byte-order mark (without it Excel shows
Vietnamese as mojibake), named after the list and the local date. Imports read those
files back, headers and labels in either language, counts as people write them; a bad
cell is named by its spreadsheet row, its column's header and its value, and nothing is
saved unless every row is good (IMPORT_EXPORT_USE_TRANSACTIONS).
"""

import copy
import json

from django.contrib import messages
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats
from import_export.forms import ImportForm, SelectableFieldsExportForm
from import_export.results import RowResult

from .exports import BOM
from .fields import WholeNumberField
from .file_imports.cells import NO, NO_WORDS, YES, YES_WORDS
from .file_imports.columns import header_key, in_every_language
from .text import fold

# The code of a message that names its cell's value already ("“12,5a” is not a whole
# number."); any other is told the value as well.
CELL = "cell"

# --- Formats ----------------------------------------------------------------------------


class CSVWithBOM(base_formats.CSV):
    """CSV that Excel opens as UTF-8; the import reads it with or without the mark."""

    def export_data(self, dataset, **kwargs):
        return BOM + super().export_data(dataset, **kwargs)


# --- Widgets: one cell read and written ---------------------------------------------------


class WholeNumberWidget(widgets.IntegerWidget):
    """A count as people write it in the reader's language: "16.003" in Vietnamese,
    "16,003" in English, and nothing that is not a whole number ("12,5", "12a"), which
    the library's widget would cut to 12 or fail on with a decimal module's error."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        if isinstance(value, bool):
            raise ValueError(_("“%(value)s” is not a whole number.") % {"value": value})
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():  # a number cell of a sheet
            return int(value)
        try:
            return WholeNumberField().clean(str(value).strip())
        except ValidationError:
            raise ValueError(_("“%(value)s” is not a whole number.") % {"value": value}) from None


class YesNoWidget(widgets.BooleanWidget):
    """Yes or no as words of the reader's language; reads the words the portal's own
    imports read ("có", "x", "không", "yes"...), in either language."""

    def clean(self, value, row=None, **kwargs):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        key = header_key(value)
        if key in YES_WORDS or key in in_every_language(YES):
            return True
        if key in NO_WORDS or key in in_every_language(NO):
            return False
        raise ValueError(
            _("“%(value)s” is neither “%(yes)s” nor “%(no)s”.")
            % {"value": value, "yes": YES, "no": NO}
        )

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return str(YES if value else NO)


class ChoiceWidget(widgets.Widget):
    """A choice written as its label; read as its label in either language, its key, or
    one of the words people write for it, in any case and with or without accents."""

    def __init__(self, choices, aliases: dict[str, str] | None = None):
        super().__init__()
        self.choices = list(choices)
        self.aliases = {fold(word): key for word, key in (aliases or {}).items()}

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return ""
        wanted = fold(str(value))
        if wanted in self.aliases:
            return self.aliases[wanted]
        for key, label in self.choices:
            if wanted == fold(key) or header_key(wanted) in in_every_language(label):
                return key
        allowed = ", ".join(f"“{label}”" for _key, label in self.choices)
        raise ValueError(
            _("“%(value)s” is not one of: %(allowed)s.") % {"value": value, "allowed": allowed}
        )

    def render(self, value, obj=None, **kwargs):
        return str(dict(self.choices).get(value, value or ""))


# --- Resources -------------------------------------------------------------------------


class PortalResource(resources.ModelResource):
    """A list's columns for export and import, as every admin file of the portal has them.

    Columns are named internally by their field (`column_name`, what the library matches
    on); the files' headers are the fields' names in the reader's language, and an
    import reads a header in either language (or the internal name) as that column.
    """

    # The headers of the columns that are not a model field of their own name (a parent
    # unit given by its code).
    column_labels: dict[str, Promise] = {}

    class Meta:
        # Every row goes through full_clean(), so the model's rules name each bad row.
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    @classmethod
    def widget_from_django_field(cls, f, default=widgets.Widget):
        if isinstance(f, models.BooleanField):
            return YesNoWidget
        if isinstance(f, models.IntegerField):
            return WholeNumberWidget
        return super().widget_from_django_field(f, default)

    # Headers

    def column_header(self, field: fields.Field) -> str:
        """The column's header in the active language."""
        name = field.column_name
        if name in self.column_labels:
            return str(capfirst(self.column_labels[name]))
        if name == "id":
            return "ID"
        try:
            return str(capfirst(self._meta.model._meta.get_field(name).verbose_name))
        except models.FieldDoesNotExist:
            return name

    def _headers_in_every_language(self, field: fields.Field) -> set[str]:
        label = self.column_labels.get(field.column_name)
        if label is None:
            try:
                label = self._meta.model._meta.get_field(field.column_name).verbose_name
            except models.FieldDoesNotExist:
                label = field.column_name
        return {header_key(field.column_name), *in_every_language(label)}

    def get_export_headers(self, selected_fields=None):
        return [self.column_header(f) for f in self.get_export_fields(selected_fields) if f]

    def get_diff_headers(self):
        return [self.column_header(f) for f in self.get_import_fields()]

    def get_user_visible_fields(self):
        # Only shown ("this importer will import the following fields"): by their headers.
        shown = []
        for field in super().get_user_visible_fields():
            field = copy.copy(field)
            field.column_name = self.column_header(field)
            shown.append(field)
        return shown

    def before_import(self, dataset, **kwargs):
        """Read the file's headers as the columns they name, and refuse a file without
        the columns that say which record a row is."""
        columns = {}
        for field in self.get_import_fields():
            for key in self._headers_in_every_language(field):
                columns.setdefault(key, field.column_name)
        if dataset.headers:
            dataset.headers = [
                columns.get(header_key(header), header) for header in dataset.headers
            ]
        # Rows without an id are new records (the library's default key).
        keys = [] if self.get_import_id_fields() == ["id"] else self.get_import_id_fields()
        missing = [
            self.column_header(self.fields[name])
            for name in keys
            if name in self.fields and self.fields[name].column_name not in (dataset.headers or ())
        ]
        if missing:
            raise ValueError(
                _("The file has no “%(column)s” column: it says which record each row is.")
                % {"column": missing[0]}
            )

    # Errors

    def import_instance(self, instance, row, **kwargs):
        """As the library's, with any widget's failure (not only ValueError) a message of
        the cell's; the library would report a decimal module's exception class."""
        errors = {}
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget):
                continue
            try:
                self.import_field(field, instance, row, **kwargs)
            except (ValueError, TypeError, ArithmeticError) as error:
                message = str(error) or _("“%(value)s” could not be read.") % {
                    "value": row.get(field.column_name)
                }
                errors[field.attribute] = ValidationError(message, code=CELL)
        if errors:
            raise ValidationError(errors)

    def changed_fields(self, row) -> list[str]:
        """The fields an imported row changed, by their untranslated names (the admin's
        history translates them as it is read)."""
        changed = []
        with translation.override(None):
            for field in self.get_import_fields():
                if field.get_value(row.original) == field.get_value(row.instance):
                    continue
                try:
                    name = self._meta.model._meta.get_field(field.column_name).verbose_name
                except models.FieldDoesNotExist:
                    name = field.column_name
                changed.append(str(name))
        return changed

    def get_or_init_instance(self, instance_loader, row):
        """As the library's, with a value that cannot say which record the row is (a code
        that is not a number) a message of its cell's rather than an error of the row."""
        try:
            return super().get_or_init_instance(instance_loader, row)
        except (ValueError, TypeError, ArithmeticError) as error:
            errors = {}
            for name in self.get_import_id_fields():
                field = self.fields[name]
                try:
                    field.clean(row)
                except (ValueError, TypeError, ArithmeticError) as cell_error:
                    errors[field.attribute] = ValidationError(str(cell_error), code=CELL)
            raise ValidationError(errors or str(error)) from None

    def import_row(self, row, instance_loader, **kwargs):
        result = super().import_row(row, instance_loader, **kwargs)
        if result.validation_error is not None:
            result.validation_error = self.located(
                result.validation_error, row, kwargs["row_number"]
            )
        return result

    def located(self, error: ValidationError, row: dict, number: int) -> ValidationError:
        """The row's errors, each saying where it is: the spreadsheet's row (the header
        is row 1), the column's header and the value written there."""
        line = spreadsheet_row(number)
        by_attribute = {f.attribute: f for f in self.get_import_fields() if f.attribute}
        by_attribute.update({f.attribute.removesuffix("_id"): f for f in by_attribute.values()})
        located: dict[str, list[ValidationError]] = {}
        details = error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: [error]}
        for key, problems in details.items():
            field = by_attribute.get(key)
            for problem in problems:
                for message in problem.messages:
                    located.setdefault(key, []).append(
                        ValidationError(
                            self._where(line, field, row, message, problem.code), code=problem.code
                        )
                    )
        return ValidationError(located)

    def _where(self, line: int, field, row: dict, message: str, code: str | None) -> str:
        if field is None:
            return _("Row %(row)s: %(message)s") % {"row": line, "message": message}
        value = row.get(field.column_name)
        place = {"row": line, "column": self.column_header(field), "message": message}
        if code == CELL or value in (None, ""):
            return _("Row %(row)d, column “%(column)s”: %(message)s") % place
        return _("Row %(row)d, column “%(column)s”, value “%(value)s”: %(message)s") % {
            **place,
            "value": value,
        }


def spreadsheet_row(number: int) -> int:
    """The library counts data rows from 1; a spreadsheet shows the header as row 1."""
    return number + 1


# --- Admin ---------------------------------------------------------------------------------


class PortalImportForm(ImportForm):
    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["format"].label = gettext_lazy("File format")


class PortalExportForm(SelectableFieldsExportForm):
    """The columns to export, offered by their headers rather than by the library's
    title-cased field names ("Working Age Population")."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["format"].label = gettext_lazy("File format")

    def _get_field_label(self, resource, field_name: str) -> str:
        instance = resource()
        if isinstance(instance, PortalResource) and field_name in instance.fields:
            return instance.column_header(instance.fields[field_name])
        return super()._get_field_label(resource, field_name)


class SpreadsheetAdmin(ImportExportModelAdmin):
    """Import and export of a list in Django admin, CSV or XLSX."""

    formats = [CSVWithBOM, base_formats.XLSX]
    import_form_class = PortalImportForm
    export_form_class = PortalExportForm

    def get_import_data_kwargs(self, **kwargs):
        # The confirmation reads the file again: a row that no longer passes (a record
        # changed since the preview) stops the whole import, as it did the preview. The
        # library would save the other rows and skip it without a word.
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result, request):
        if not (result.has_errors() or result.has_validation_errors()):
            return super().process_result(result, request)
        # Nothing was saved: the import page again, listing what stopped it.
        resource_classes = self.get_import_resource_classes(request)
        form = self.get_import_form_class(request)(self.get_import_formats(), resource_classes)
        resource = resource_classes[0]()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import"),
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "media": self.media + form.media,
            "fields_list": [
                (
                    resource.get_display_name(),
                    [f.column_name for f in resource.get_user_visible_fields()],
                )
            ],
            "import_error_display": self.import_error_display,
        }
        return TemplateResponse(request, [self.import_template_name], context)

    def generate_log_entries(self, result, request) -> None:
        """Each imported record's history entry, in Django's own form (stored without
        language, translated as it is read), naming the fields that changed; the library
        stores an English sentence ("update through import_export")."""
        if self.get_skip_admin_log():
            return
        resource = self.get_import_resource_classes(request)[0]()
        flags = {
            RowResult.IMPORT_TYPE_NEW: ADDITION,
            RowResult.IMPORT_TYPE_UPDATE: CHANGE,
            RowResult.IMPORT_TYPE_DELETE: DELETION,
        }
        entries: dict[tuple[int, str], list] = {}
        for row in result.rows:
            flag = flags.get(row.import_type)
            if flag is None or row.instance is None:
                continue
            if flag == ADDITION:
                message = [{"added": {}}]
            elif flag == CHANGE:
                message = [{"changed": {"fields": resource.changed_fields(row)}}]
            else:
                with translation.override(None):
                    name = str(self.model._meta.verbose_name)
                message = [{"deleted": {"name": name, "object": str(row.instance)}}]
            entries.setdefault((flag, json.dumps(message)), []).append(row.instance)
        for (flag, message), instances in entries.items():
            LogEntry.objects.log_actions(
                request.user.pk, instances, flag, message, single_object=len(instances) == 1
            )

    def add_success_message(self, result, request) -> None:
        totals = result.totals
        messages.success(
            request,
            _("The file is imported: %(new)d new, %(changed)d changed, %(unchanged)d unchanged.")
            % {
                "new": totals[RowResult.IMPORT_TYPE_NEW],
                "changed": totals[RowResult.IMPORT_TYPE_UPDATE],
                "unchanged": totals[RowResult.IMPORT_TYPE_SKIP],
            },
        )

    def get_export_filename(self, request, queryset, file_format) -> str:
        """The list's name and the day, both as the reader has them: xa-2026-12-07.csv."""
        name = slugify(fold(str(self.model._meta.verbose_name_plural))) or "export"
        return f"{name}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"
