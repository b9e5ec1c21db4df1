"""The list pages' filter bars, as django-filter FilterSets.

A FilterSet only narrows a queryset that a selector has already limited to the user's
scope, and its choice lists come from scoped selectors too: scope is never a filter, so
a filter left out (or a value typed into the URL) can never widen what a user sees.
"""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES


def raw_id(data, name: str) -> int | None:
    """An id the filter bar sent, before validation (to narrow another filter's choices)."""
    try:
        return int(data.get(name) or "")
    except (TypeError, ValueError):
        return None


def date_input() -> forms.DateInput:
    # The phone's date picker sends and shows an ISO date, whatever the language.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FilterSet(django_filters.FilterSet):
    """A GET filter bar: a value that does not validate is simply not applied.

    Its error shows beside the field and the other filters still apply, so a stale
    bookmark or a hand-edited link still shows a list. `defaults` are the values a filter
    takes when none valid was given (the active teams, say, rather than all of them).
    """

    defaults: dict[str, Any] = {}

    def __init__(self, data: QueryDict | None, queryset: QuerySet, **kwargs):
        # Always bound: no query string is a query with no filters, and the defaults.
        super().__init__(data if data is not None else QueryDict(), queryset, **kwargs)

    @cached_property
    def applied(self) -> dict[str, Any]:
        """The values the list is filtered by: the valid, non-empty ones, and the
        defaults of the others."""
        form = self.form
        form.is_valid()
        values = {
            name: value
            for name, value in form.cleaned_data.items()
            if name not in form.errors and value not in EMPTY_VALUES
        }
        for name, default in self.defaults.items():
            if name in self.filters:
                values.setdefault(name, default)
        return values

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        for name, value in self.applied.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset


class SearchFilterSet(FilterSet):
    """A filter bar led by a search box, `q`: each subclass's `search(queryset, name,
    value)` says what it matches."""

    q = django_filters.CharFilter(label=_("Search"), max_length=100, method="search")

    # What the box says before anything is typed ("Team name").
    search_placeholder: Promise | str = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.search_placeholder:
            self.filters["q"].field.widget.attrs["placeholder"] = self.search_placeholder


class PeriodForm(forms.Form):
    """The form of a filter bar with a period (`start`, `end`): an end before the start
    is shown beside the end and not applied."""

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end of the period is before its start."))
        return cleaned
