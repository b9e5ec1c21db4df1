"""Every query that shapes rows for a summary table: the dashboard's, reading the
raw rows of outreach and trainings."""

from collections.abc import Collection
from datetime import date

from django.db.models import QuerySet


def in_cells(
    queryset: QuerySet,
    *,
    place: str | None,
    day: str,
    places: Collection[int] | None = None,
    days: Collection[date] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> QuerySet:
    """Narrow the rows to the cells' places (the `place` path; None or no `places`: every
    place) and days (`days`, and `start`/`end` for a range), unordered for grouping."""
    if place is not None and places is not None:
        queryset = queryset.filter(**{f"{place}__any": list(places)})
    if days is not None:
        queryset = queryset.filter(**{f"{day}__any": list(days)})
    if start is not None:
        queryset = queryset.filter(**{f"{day}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{day}__lte": end})
    return queryset.order_by()
