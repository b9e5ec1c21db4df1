"""The filter bars' base: a value that does not validate is simply not applied, and the
other filters still are."""

import datetime as dt

import django_filters
import pytest
from django.http import QueryDict

from communes.models import Commune
from core.filters import PeriodForm, SearchFilterSet, date_input
from core.text import fold
from outreach.models import Team
from outreach.tests.factories import TeamFactory


class TeamFilter(SearchFilterSet):
    commune = django_filters.ModelChoiceFilter(label="Commune", queryset=Commune.objects.all())
    start = django_filters.DateFilter(
        field_name="formed_on", lookup_expr="gte", label="From", widget=date_input()
    )
    end = django_filters.DateFilter(
        field_name="formed_on", lookup_expr="lte", label="To", widget=date_input()
    )
    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[("active", "Active"), ("all", "All")],
        empty_label=None,
        method="filter_status",
    )

    defaults = {"status": "active"}

    class Meta:
        form = PeriodForm

    def search(self, queryset, name, value):
        return queryset.filter(name_folded__contains=fold(value))

    def filter_status(self, queryset, name, value):
        return queryset.active() if value == "active" else queryset


def _listed(query: str) -> tuple[TeamFilter, set[str]]:
    filters = TeamFilter(QueryDict(query), Team.objects.all())
    return filters, set(filters.qs.values_list("name", flat=True))


@pytest.fixture
def teams(divisions):
    hai_dong = Commune.objects.get(code=14269)
    other = Commune.objects.exclude(pk=hai_dong.pk).order_by("code").first()
    TeamFactory(commune=hai_dong, name="Tổ Đông", formed_on=dt.date(2023, 3, 1))
    TeamFactory(commune=hai_dong, name="Tổ Tây", formed_on=dt.date(2024, 5, 1))
    TeamFactory(commune=other, name="Tổ Đông Hải", formed_on=dt.date(2023, 6, 1))
    TeamFactory(
        commune=hai_dong,
        name="Tổ Đông cũ",
        formed_on=dt.date(2021, 1, 1),
        dissolved_on=dt.date(2022, 1, 1),
    )
    return hai_dong


@pytest.mark.django_db
def test_a_value_that_does_not_validate_is_not_applied_and_the_rest_still_filter(teams):
    filters, names = _listed("q=dong&commune=abc")

    assert names == {"Tổ Đông", "Tổ Đông Hải"}
    assert "commune" in filters.form.errors
    assert filters.applied == {"q": "dong", "status": "active"}

    _filters, names = _listed(f"q=dong&commune={teams.pk}")
    assert names == {"Tổ Đông"}


@pytest.mark.django_db
def test_a_period_that_ends_before_it_starts_keeps_its_start_only(teams):
    filters, names = _listed("start=2024-01-01&end=2023-01-01")

    assert names == {"Tổ Tây"}
    assert list(filters.form.errors) == ["end"]

    filters, names = _listed("start=not-a-day&end=2023-12-31")
    assert names == {"Tổ Đông", "Tổ Đông Hải"}
    assert list(filters.form.errors) == ["start"]


@pytest.mark.django_db
def test_a_filter_with_a_default_takes_it_when_none_valid_is_given(teams):
    active = {"Tổ Đông", "Tổ Tây", "Tổ Đông Hải"}

    assert _listed("")[1] == active
    filters, names = _listed("status=bogus")
    assert names == active
    assert "status" in filters.form.errors
    assert _listed("status=all")[1] == active | {"Tổ Đông cũ"}
