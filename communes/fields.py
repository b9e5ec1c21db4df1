"""Form fields every app's forms share."""

import re

from django import forms
from django.utils import formats

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
