"""The household's current checklist and the days its visits fall on."""

from collections.abc import Iterable
from datetime import date

from ..models import READINESS_FIELDS, Household, Visit


def household_readiness_refresh(household: Household) -> None:
    """Per item, the answer of the latest visit that gave one (None if no visit did)."""
    answers = dict.fromkeys(READINESS_FIELDS)
    visits = (
        Visit.objects.filter(household=household)
        .order_by("visited_on", "id")
        .values_list(*READINESS_FIELDS)
    )
    for row in visits:
        for field, value in zip(READINESS_FIELDS, row, strict=True):
            if value is not None:
                answers[field] = value
    changed = [f for f, v in answers.items() if getattr(household, f) != v]
    if changed:
        for field in changed:
            setattr(household, field, answers[field])
        household.save(update_fields=changed)


def household_visit_days(household_ids: Iterable[int]) -> set[tuple[int, date]]:
    """Every (commune, day) on which one of these households was visited.

    Whether a visit is a household's first or a return visit depends on its other
    visits, so a change to one visit may change the figures of all their days.
    """
    return set(
        Visit.objects.filter(household_id__in=list(household_ids))
        .values_list("household__commune_id", "visited_on")
        .distinct()
    )
