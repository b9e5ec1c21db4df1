"""The year's targets as the dashboards read them, and the progress towards one.

Targets are records provincial staff keep (`Target`, written by dashboard.services).
For the province, the campaign's own targets (BUILTIN_TARGETS, from the source article)
stand in for any figure that has no record, so the overview has something to aim at
before anyone has entered a year's targets. Districts and communes have only what was
split to them.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from .models import Figure, Target

# The campaign's targets (../shared/DOMAIN.md): 2,160 community teams with 16,000 core
# members, the 2023 plan to train about 20,000 officials, and every one of the province's
# 600,000 households reached. Teams, members and households are levels the campaign
# keeps; the training plan is the only yearly one known, so it stands for every year.
BUILTIN_TARGETS: dict[str, int] = {
    Figure.TEAMS.value: 2_160,
    Figure.MEMBERS.value: 16_000,
    Figure.HOUSEHOLDS_REACHED.value: 600_000,
    Figure.OFFICIALS_TRAINED.value: 20_000,
}

LEVELS = ("district", "commune")


def targets_for(
    year: int, *, district_id: int | None = None, commune_id: int | None = None
) -> dict[str, int]:
    """Figure code -> the year's target for one place (the province when neither is given).

    One query. The province's figures without a record fall back to BUILTIN_TARGETS.
    """
    if district_id is not None and commune_id is not None:
        raise ValueError("A target belongs to a district or a commune, not both.")
    targets = Target.objects.filter(
        year=year,
        district_id=district_id,
        commune_id=commune_id,
    )
    found = dict(targets.values_list("figure", "value"))
    if district_id is None and commune_id is None:
        return {**BUILTIN_TARGETS, **found}
    return found


def targets_by_place(year: int, figure: str, level: str) -> dict[int, int]:
    """Place id -> the year's target for `figure`, for every district (or commune) that has one."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    targets = Target.objects.filter(Q(**{f"{level}__isnull": False}), year=year, figure=figure)
    return dict(targets.values_list(f"{level}_id", "value"))


@dataclass(frozen=True)
class Progress:
    target: int | None
    current: int
    # current / target (1.0 is the target reached); None without a target.
    share: float | None
    # Where the figure will stand on 31 December at the pace of the year so far.
    projected: int | None
    on_pace: bool | None


def progress(
    *,
    figure: str,
    current: int,
    at_year_start: int,
    year: int,
    today: dt.date,
    target: int | None,
) -> Progress:
    """How far `current` is towards `target`, and whether the year's pace reaches it.

    `current` is the figure today (or on 31 December for a past year); `at_year_start`
    is where it stood when the year began: the level on 31 December before for a level
    (teams, members, households reached), 0 for a count that starts again each year
    (residents helped, sessions held, officials trained).

    The pace is the year's gain per day so far: (current - at_year_start) divided by the
    days of the year up to and including today (at least 1). The projection adds that
    pace for each day left until 31 December:

        projected = current + pace * days remaining

    and the figure is on pace when the projection reaches the target. A past year has
    no days left, so its projection is where it ended; a year not begun yet has no pace,
    so no projection. A gain that is negative (teams dissolved) projects downwards, but
    never below zero.
    """
    if figure not in Figure.values:
        raise ValueError(f"Unknown figure {figure!r}")
    share = current / target if target else None
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if today < first:
        projected = None
    elif today > last:
        projected = current
    else:
        days_elapsed = max(1, (today - first).days + 1)
        days_remaining = (last - today).days
        pace = (current - at_year_start) / days_elapsed
        projected = max(0, round(current + pace * days_remaining))
    on_pace = projected >= target if target and projected is not None else None
    return Progress(
        target=target, current=current, share=share, projected=projected, on_pace=on_pace
    )
