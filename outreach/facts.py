"""The facts a visit's write records for the figures, worked out from one household's visits.

When a visit is added, moved, changed or deleted, the visit services lock its household
(or both, for a move or a merge), read the household's few visits, and work out here what
the change does to the facts the dashboard's roll-up reads instead of the history:
- which visit is the household's first, and each team's first to it (the earliest day,
  then the lowest id): a new visit dated before the others takes the rank from the one
  that held it;
- how the household's current checklist answers changed on each day (per item, the
  answer of the latest visit that gave one, as of the end of the day), so that the
  commune's readiness is the sum of its days' changes.
Pure functions over rows: the services read and write, the nightly check (its SQL
twin, outreach/services/facts.py) recomputes the same from every visit.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby

from .models import READINESS_FIELDS

# The id a visit not saved yet ranks with: after every stored one, as the id it will get.
UNSAVED = 2**63 - 1


@dataclass(frozen=True)
class VisitRow:
    """What the facts depend on in one visit of a household, and the ranks it holds."""

    id: int
    team_id: int
    commune_id: int  # where it counts
    day: date
    answers: tuple[bool | None, ...]
    first_for_household: bool = False
    first_for_team: bool = False


def visit_ranks(rows: Iterable[VisitRow]) -> dict[int, tuple[bool, bool]]:
    """Per visit id of one household: (its household's first, its team's first there)."""
    ranks = {}
    teams = set()
    for position, row in enumerate(sorted(rows, key=lambda r: (r.day, r.id))):
        ranks[row.id] = (position == 0, row.team_id not in teams)
        teams.add(row.team_id)
    return ranks


def readiness_changes(
    rows: Iterable[VisitRow],
) -> tuple[dict[tuple[date, str], tuple[int, int]], dict[str, bool | None]]:
    """One household's checklist through time: per (day, item) on which its current
    answer changed, (change in yes, change in answered), each -1, 0 or 1; and its
    answers after the last day."""
    state: list[bool | None] = [None] * len(READINESS_FIELDS)
    changes = {}
    for day, visits in groupby(sorted(rows, key=lambda r: (r.day, r.id)), key=lambda r: r.day):
        before = list(state)
        for row in visits:
            for index, answer in enumerate(row.answers):
                if answer is not None:
                    state[index] = answer
        for index, item in enumerate(READINESS_FIELDS):
            yes = int(state[index] is True) - int(before[index] is True)
            answered = int(state[index] is not None) - int(before[index] is not None)
            if yes or answered:
                changes[(day, item)] = (yes, answered)
    return changes, dict(zip(READINESS_FIELDS, state, strict=True))


@dataclass
class HouseholdFacts:
    """What a change to one household's visits does to the facts.

    `before` and `after` are the household's visits before and after the change (the
    rows as stored, and as they will be); `writing` the ids of the visits the service
    is saving itself, which take their ranks from `ranks` when they are saved."""

    household_id: int
    commune_id: int
    before: list[VisitRow]
    after: list[VisitRow]
    writing: frozenset[int] = frozenset()
    ranks: dict[int, tuple[bool, bool]] = field(init=False)
    # Stored visits whose ranks change, and to what.
    rank_changes: dict[int, tuple[bool, bool]] = field(init=False)
    readiness: dict[tuple[date, str], tuple[int, int]] = field(init=False)
    answers: dict[str, bool | None] = field(init=False)

    def __post_init__(self) -> None:
        self.ranks = visit_ranks(self.after)
        self.rank_changes = {
            row.id: self.ranks[row.id]
            for row in self.after
            if row.id not in self.writing
            and (row.first_for_household, row.first_for_team) != self.ranks[row.id]
        }
        old, _answers = readiness_changes(self.before)
        new, self.answers = readiness_changes(self.after)
        self.readiness = {}
        for key in old.keys() | new.keys():
            was, now = old.get(key, (0, 0)), new.get(key, (0, 0))
            change = (now[0] - was[0], now[1] - was[1])
            if change != (0, 0):
                self.readiness[key] = change

    def cells(self) -> set[tuple[int, date]]:
        """The (commune, day) cells whose visit figures change: those of the visits
        added or removed (a visit moved is removed from one cell and added to another)
        and of every visit whose rank changes."""
        before = {row.id: (row.commune_id, row.day) for row in self.before}
        after = {row.id: (row.commune_id, row.day) for row in self.after}
        cells = {cell for pk, cell in before.items() if after.get(pk) != cell}
        cells |= {cell for pk, cell in after.items() if before.get(pk) != cell}
        cells |= {after[pk] for pk in self.rank_changes}
        return cells

    def readiness_cells(self) -> set[tuple[int, date]]:
        return {(self.commune_id, day) for day, _item in self.readiness}
