"""The shared form fields: whole numbers as people type them in Vietnamese and in English,
and model choices listed from memory (the cache) that clean as their queryset would."""

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from core.fields import ListedModelChoiceField, ListedModelMultipleChoiceField, WholeNumberField


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


# --- Choices listed from memory (the visit form's cached choices) -----------------------

# What a browser, a stale page or a tampering one may send for a choice.
SENT_ONE = [
    "",
    None,
    "{active}",
    " {active}",
    "0{active}",
    "{retired}",
    "abc",
    "1.5",
    "-1",
    "99999999999999999999",
    "1\x00",
    ["{active}"],
    [],
]
SENT_MANY = [
    [],
    None,
    "",
    "{active}",
    ["{active}"],
    ["{active}", "{other}"],
    ["{active}", "{active}"],
    [" {active}"],
    ["0{active}"],
    ["{retired}"],
    ["{active}", "{retired}"],
    ["abc"],
    ["1.5"],
    ["99999999999999999999"],
    ["1\x00"],
    [["{active}"]],
    [None],
]


def _sent(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_sent(v, ids) for v in value]
    return value


def _outcome(field, value):
    """What clean() makes of the value: the objects, or the error as shown."""
    try:
        cleaned = field.clean(value)
    except forms.ValidationError as error:
        return ("refused", error.code, error.messages)
    if cleaned is None or hasattr(cleaned, "pk"):
        return ("chosen", cleaned)
    return ("chosen", list(cleaned))


def _services():
    """Two active services and a retired one: the queryset offers the active ones."""
    # A model of an app above core, for the test only.
    from outreach.models import Service

    active = list(Service.objects.filter(is_active=True)[:2])
    retired = Service.objects.exclude(pk__in=[s.pk for s in active]).first()
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    queryset = Service.objects.filter(is_active=True)
    ids = {"active": active[0].pk, "other": active[1].pk, "retired": retired.pk}
    return queryset, ids


@pytest.mark.django_db
@pytest.mark.parametrize("required", [True, False])
def test_a_listed_choice_is_cleaned_and_refused_as_its_querysets_would_be(required):
    """The same objects chosen, the same messages, without a query."""
    queryset, ids = _services()
    queried = forms.ModelChoiceField(queryset=queryset, required=required)
    listed = ListedModelChoiceField(queryset=queryset.none(), required=required)
    listed.list_choices(queryset)
    assert list(listed.choices) == list(queried.choices)
    for sent in SENT_ONE:
        value = _sent(sent, ids)
        with CaptureQueriesContext(connection) as queries:
            outcome = _outcome(listed, value)
        assert outcome == _outcome(queried, value), value
        assert len(queries) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("required", [True, False])
def test_listed_choices_are_cleaned_and_refused_as_their_querysets_would_be(required):
    queryset, ids = _services()
    queried = forms.ModelMultipleChoiceField(queryset=queryset, required=required)
    listed = ListedModelMultipleChoiceField(queryset=queryset.none(), required=required)
    listed.list_choices(queryset)
    assert list(listed.choices) == list(queried.choices)
    for sent in SENT_MANY:
        value = _sent(sent, ids)
        with CaptureQueriesContext(connection) as queries:
            outcome = _outcome(listed, value)
        assert outcome == _outcome(queried, value), value
        assert len(queries) == 0
