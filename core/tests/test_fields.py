"""Whole numbers as people type them in Vietnamese and in English."""

import pytest
from django import forms
from django.utils import translation

from core.fields import WholeNumberField


@pytest.mark.parametrize(
    "language, typed, read",
    [
        ("vi", "1.000", 1000),
        ("vi", "1.900.000", 1_900_000),
        ("vi", " 12 ", 12),
        ("vi", "1 000", 1000),
        ("vi", "-3", -3),
        ("en", "1,000", 1000),
        ("en", "1900000", 1_900_000),
    ],
)
def test_grouped_digits_are_the_number_they_group(language, typed, read):
    with translation.override(language):
        assert WholeNumberField().clean(typed) == read


@pytest.mark.parametrize(
    "language, typed",
    [
        ("vi", "1,5"),
        ("vi", "1.5"),
        ("vi", "1,000"),  # a decimal comma in Vietnamese: not a whole number
        ("vi", "1.00"),
        ("en", "1.000"),  # Django's own field would read this as 1
        ("en", "12abc"),
    ],
)
def test_anything_else_is_not_a_whole_number(language, typed):
    with translation.override(language), pytest.raises(forms.ValidationError) as refused:
        WholeNumberField().clean(typed)
    assert refused.value.code == "invalid"


def test_limits_still_apply_to_the_number_read():
    with translation.override("vi"), pytest.raises(forms.ValidationError) as refused:
        WholeNumberField(max_value=50).clean("1.000")
    assert [error.code for error in refused.value.error_list] == ["max_value"]
