"""Form fields, and the other form bits, every app's forms share."""

import re

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.db import models
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext

_PLAIN = re.compile(r"[+-]?\d+")


class WholeNumberField(forms.IntegerField):
    """A count as people type it in their language.

    Django's IntegerField reads "1.000" as 1 (it drops a trailing ".0…"), so a Vietnamese
    "one thousand" would be stored as one. Here digits grouped by the active language's
    thousands separator ("1.000" in Vietnamese, "1,000" in English) are that number, and
    anything else that is not plain digits ("1.5", "1,000" in Vietnamese) is refused as
    not a whole number, rather than guessed at.
    """

    def to_python(self, value):
        if isinstance(value, str):
            text = "".join(value.split())
            separator = formats.get_format("THOUSAND_SEPARATOR")
            grouped = rf"[+-]?\d{{1,3}}(?:{re.escape(separator)}\d{{3}})+" if separator else None
            if grouped and re.fullmatch(grouped, text):
                text = text.replace(separator, "")
            elif text and not _PLAIN.fullmatch(text):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            value = text
        return super().to_python(value)


def labelled_error(message: str, model: type[models.Model] | None, field: str | None) -> str:
    """A service's message about `field` of `model`, prefixed with that field's label.

    For a field the form does not show: above the form, "This field cannot be blank."
    alone would not say which field it is about.
    """
    if not field or field == NON_FIELD_ERRORS:
        return message
    try:
        label = model._meta.get_field(field).verbose_name
    except (AttributeError, FieldDoesNotExist):
        # No model given, or a name that is not a field of it: the name still says which.
        label = field.replace("_", " ")
    return gettext("%(field)s: %(message)s") % {"field": capfirst(label), "message": message}
