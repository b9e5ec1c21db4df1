"""The widgets written in Python (core.forms.PlainSelect, PlainDateInput) write what
Django's templates write for the same field, attributes and errors included."""

import datetime as dt
import re

import pytest
from django import forms
from django.utils import translation
from django.utils.safestring import mark_safe

from core.forms import PlainDateInput, PlainSelect

CHOICES = [("", "All"), (1, 'Huyện "Giao" & <Thủy>'), (2, mark_safe("<b>safe</b>")), (3, "x")]


def _form(widgets: bool):
    select = {"widget": PlainSelect} if widgets else {}
    date = PlainDateInput if widgets else forms.DateInput

    class Form(forms.Form):
        district = forms.TypedChoiceField(
            choices=CHOICES, coerce=int, required=False, help_text="Pick", **select
        )
        kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], **select)
        start = forms.DateField(
            required=False,
            widget=date(attrs={"type": "date", "data-x": 'a"b', "autofocus": True}),
            help_text="From",
        )
        end = forms.DateField(widget=date(attrs={"type": "date"}, format="%Y-%m-%d"))

    return Form


def _squeezed(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html).strip())


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"district": "2", "kind": "b", "start": "2026-01-05", "end": "2026-02-01"},
        {"district": "9", "kind": "zz", "start": "not a day", "end": ""},
        {"district": "1", "kind": "a", "start": "5/1/2026", "end": "2026-13-01"},
    ],
)
@pytest.mark.parametrize("bound", [True, False])
def test_the_plain_widgets_write_what_djangos_write(data, bound):
    with translation.override("vi"):
        plain = _form(True)(data) if bound else _form(True)(initial={"end": dt.date(2026, 1, 2)})
        django = _form(False)(data) if bound else _form(False)(initial={"end": dt.date(2026, 1, 2)})
        if bound:
            assert plain.is_valid() == django.is_valid()
        for name in ("district", "kind", "start", "end"):
            assert _squeezed(plain[name]) == _squeezed(django[name]), name


def test_a_select_with_groups_is_left_to_django():
    grouped = [("Nam Định", [(1, "a"), (2, "b")]), (3, "c")]
    plain = forms.ChoiceField(choices=grouped, widget=PlainSelect).widget.render("f", "2")
    django = forms.ChoiceField(choices=grouped).widget.render("f", "2")
    assert "<optgroup" in plain and _squeezed(plain) == _squeezed(django)
