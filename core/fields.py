"""Form fields, and the other form bits, every app's forms share."""

import re
from collections.abc import Iterable

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models
from django.forms.models import ModelChoiceIterator
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


class ListedChoiceIterator(ModelChoiceIterator):
    """The choices of a field whose objects were given (ListedChoicesMixin): no query."""

    def __iter__(self):
        if self.field.listed is None:
            yield from super().__iter__()
            return
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.field.listed:
            yield self.choice(obj)

    def __len__(self):
        if self.field.listed is None:
            return super().__len__()
        return len(self.field.listed) + (self.field.empty_label is not None)

    def __bool__(self):
        if self.field.listed is None:
            return super().__bool__()
        return self.field.empty_label is not None or bool(self.field.listed)


class ListedChoicesMixin:
    """Choices given as objects already loaded (from a cache, say) rather than as a
    queryset to run, so that neither showing nor validating the field reads the database.

    The values, labels, cleaned objects and error messages are those the queryset would
    give; the queryset still names the model. Until `list_choices` is called the field is
    an ordinary model choice field.
    """

    iterator = ListedChoiceIterator
    listed: list | None = None

    def list_choices(self, objects: Iterable[models.Model]) -> None:
        """Offer `objects`, in their order, as the choices."""
        if self.to_field_name:
            raise ValueError("Listed choices are found by their primary key.")
        self.listed = list(objects)
        self._listed_by_pk = {obj.pk: obj for obj in self.listed}
        self.widget.choices = self.choices

    def offers_any(self) -> bool:
        """Whether there is anything to choose from."""
        return bool(self.listed) if self.listed is not None else self.queryset.exists()

    def _listed_object(self, value) -> models.Model | None:
        """The listed object `value` names, read as a lookup by primary key reads it;
        ValueError or TypeError where the lookup would raise them."""
        model = self.queryset.model
        if isinstance(value, model):
            value = value.pk
        return self._listed_by_pk.get(model._meta.pk.get_prep_value(value))


class ListedModelChoiceField(ListedChoicesMixin, forms.ModelChoiceField):
    def to_python(self, value):
        if self.listed is None:
            return super().to_python(value)
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        try:
            obj = self._listed_object(value)
        except (ValueError, TypeError):
            obj = None
        if obj is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return obj


class ListedModelMultipleChoiceField(ListedChoicesMixin, forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        """The listed objects the values name, in the list's order (a list, where the
        queryset's field returns a queryset)."""
        if self.listed is None:
            return super()._check_values(value)
        try:
            value = frozenset(value)
        except TypeError:
            # A list of lists, for example.
            raise ValidationError(
                self.error_messages["invalid_list"], code="invalid_list"
            ) from None
        chosen = set()
        for pk in value:
            self.validate_no_null_characters(pk)
            try:
                obj = self._listed_object(pk)
            except (ValueError, TypeError):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                ) from None
            if obj is not None:
                chosen.add(obj.pk)
        objects = [obj for obj in self.listed if obj.pk in chosen]
        # As the queryset's field compares them: "05" names 5, but is not "5".
        pks = {str(obj.pk) for obj in objects}
        for val in value:
            if str(val) not in pks:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": val},
                )
        return objects


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
