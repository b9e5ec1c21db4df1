"""Admin pages every app shares."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.utils import translation


class TranslatedHistoryMixin:
    """An object's history that names the changed fields in the reader's language.

    Django stores each change with its fields' form labels, untranslated, and translates
    them as the history is read; but a model field's label is its name capitalised
    ("Households"), which no catalogue holds, so the history would read in English. The
    fields are stored by their names as the model gives them ("households") instead.
    """

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        names = {}
        forms = [form, *(formset.forms[0] for formset in formsets or () if formset.forms)]
        with translation.override(None):
            for each in forms:
                model = getattr(getattr(each, "_meta", None), "model", None)
                for name, field in each.fields.items():
                    try:
                        verbose_name = model._meta.get_field(name).verbose_name
                    except (AttributeError, FieldDoesNotExist):  # a form's own field
                        continue
                    if field.label:
                        names[str(field.label)] = str(verbose_name)
        for entry in message:
            for details in entry.values():
                if "fields" in details:
                    details["fields"] = [names.get(label, label) for label in details["fields"]]
        return message


class ReadOnlyAdmin(admin.ModelAdmin):
    """Admins look at a record here and change it in the portal's pages, whose services
    check scope and record what the figures and the audit trail need."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
