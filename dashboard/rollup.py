"""The roll-up: recompute the summary tables from the raw rows.

Writers record which (place, day) buckets they changed in communes.PendingRollup, in
the same transaction as the change. A pending run claims those rows by id, recomputes
their cells from the raw rows (through the outreach and trainings selectors), replaces
the cells' summary rows and deletes exactly the rows it claimed, all in one
transaction: a bucket marked while it ran keeps its row for the next run, and a worker
killed half-way leaves the previous figures and the pending rows as they were.

Runs never overlap: each transaction first locks the one RollupState row. Both runs
replace rows with recomputed ones (never add to them), so running either twice, or a
full run after a pending one, gives the same figures.
"""

import contextlib
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from communes.models import Commune, PendingRollup, RollupSource
from outreach import selectors as outreach
from trainings import selectors as trainings
from trainings.models import Level

from .models import (
    CommuneDay,
    CommuneDayService,
    CommuneReadiness,
    HamletDay,
    RollupState,
    TeamDay,
    TeamTotal,
    TrainingDay,
    TrainingYear,
)

logger = logging.getLogger(__name__)

# Pending rows claimed per transaction: many marks name the same bucket (an import of
# 16,000 members marks 16,000 times), so a batch is usually a handful of buckets.
CLAIM_BATCH = 20_000
# Days recomputed together: their communes are recomputed for every day of the chunk,
# which is cheap next to one set of queries per day.
CHUNK_DAYS = 31
INSERT_BATCH = 2_000

STATE_CACHE_KEY = "dashboard:rollup-state"
# Bounds how stale a page can be if the cache missed the update after a run.
STATE_CACHE_SECONDS = 60

SUMMARY_MODELS = (
    CommuneDay,
    CommuneDayService,
    HamletDay,
    TeamDay,
    TeamTotal,
    CommuneReadiness,
    TrainingDay,
    TrainingYear,
)


@dataclass
class RollupResult:
    claimed: int = 0  # pending rows claimed and deleted
    cells: int = 0  # (commune or district, day) cells recomputed
    years: int = 0  # training years recomputed

    def add(self, other: "RollupResult") -> None:
        self.claimed += other.claimed
        self.cells += other.cells
        self.years += other.years


# --- State and lock ----------------------------------------------------------------------


def rollup_state() -> tuple[int, datetime | None]:
    """(version, when the last run finished): what the dashboards' caches are keyed on."""
    try:
        cached = cache.get(STATE_CACHE_KEY)
    except Exception:  # a cache outage must not take the dashboards down
        logger.warning("cache unavailable; reading the roll-up state from the database")
        cached = None
    if cached is not None:
        return cached
    state = RollupState.objects.filter(pk=1).values_list("version", "last_run_at").first()
    state = tuple(state) if state else (0, None)
    with contextlib.suppress(Exception):
        cache.set(STATE_CACHE_KEY, state, STATE_CACHE_SECONDS)
    return state


def _lock() -> RollupState:
    """Lock the state row for the rest of the transaction: one run at a time.

    SQLite has no row locks but lets one writer at a time anyway.
    """
    RollupState.objects.get_or_create(pk=1)
    return RollupState.objects.select_for_update().get(pk=1)


def _finish(*, full: bool) -> None:
    now = timezone.now()
    changes = {"version": F("version") + 1, "last_run_at": now}
    if full:
        changes["last_full_at"] = now
    RollupState.objects.filter(pk=1).update(**changes)
    state = RollupState.objects.values_list("version", "last_run_at").get(pk=1)

    def publish() -> None:
        try:
            cache.set(STATE_CACHE_KEY, tuple(state), STATE_CACHE_SECONDS)
        except Exception:
            logger.warning("cache unavailable; dashboards see the new figures within a minute")

    transaction.on_commit(publish)


# --- Recomputing cells --------------------------------------------------------------------


@dataclass(frozen=True)
class Cells:
    """A set of days and, for each, the places to recompute (None: every place)."""

    places: Collection[int] | None = None
    days: Collection[date] | None = None
    start: date | None = None
    end: date | None = None

    def narrow(self, queryset: QuerySet, place: str | None) -> QuerySet:
        if place and self.places is not None:
            queryset = queryset.filter(**{f"{place}__in": list(self.places)})
        if self.days is not None:
            queryset = queryset.filter(day__in=list(self.days))
        if self.start is not None:
            queryset = queryset.filter(day__gte=self.start)
        if self.end is not None:
            queryset = queryset.filter(day__lte=self.end)
        return queryset

    def lookups(self) -> dict:
        return {"days": self.days, "start": self.start, "end": self.end}


def _replace(model, old: QuerySet, rows: Iterable) -> int:
    old.delete()
    created = model.objects.bulk_create(rows, batch_size=INSERT_BATCH)
    return len(created)


def _commune_cells(cells: Cells, now: datetime, districts: dict[int, int]) -> int:
    """Recompute the outreach and commune-level training rows of the cells."""
    lookups = {"communes": cells.places, **cells.lookups()}
    visits = outreach.visit_figures_by_commune_day(**lookups)
    roster = outreach.roster_changes_by_commune_day(**lookups)
    rows = []
    for commune_id, day in visits.keys() | roster.keys():
        figures = {**visits.get((commune_id, day), {}), **roster.get((commune_id, day), {})}
        figures["return_visits"] = figures.get("visits", 0) - figures.get("households_first", 0)
        rows.append(
            CommuneDay(
                commune_id=commune_id,
                district_id=districts[commune_id],
                day=day,
                computed_at=now,
                **figures,
            )
        )
    _replace(CommuneDay, cells.narrow(CommuneDay.objects.all(), "commune_id"), rows)

    services = outreach.visits_by_commune_day_service(**lookups)
    _replace(
        CommuneDayService,
        cells.narrow(CommuneDayService.objects.all(), "commune_id"),
        (
            CommuneDayService(
                commune_id=c,
                district_id=districts[c],
                day=d,
                service_id=s,
                visits=n,
                computed_at=now,
            )
            for c, d, s, n in services
        ),
    )
    hamlets = outreach.visit_figures_by_hamlet_day(**lookups)
    _replace(
        HamletDay,
        cells.narrow(HamletDay.objects.all(), "commune_id"),
        (
            HamletDay(hamlet_id=hamlet_id, day=day, computed_at=now, **figures)
            for (hamlet_id, day), figures in hamlets.items()
        ),
    )
    teams = outreach.visit_figures_by_team_day(**lookups)
    _replace(
        TeamDay,
        cells.narrow(TeamDay.objects.all(), "commune_id"),
        (
            TeamDay(
                day=row.pop("visited_on"),
                team_id=row.pop("team_id"),
                computed_at=now,
                **row,
            )
            for row in teams
        ),
    )
    _training_cells(Level.COMMUNE, cells, now)
    return len(rows)


def _training_cells(level: str, cells: Cells, now: datetime) -> None:
    place = {Level.COMMUNE: "commune_id", Level.DISTRICT: "district_id"}.get(level)
    old = cells.narrow(TrainingDay.objects.filter(level=level), place)
    figures = trainings.training_figures_by_cell(level, places=cells.places, **cells.lookups())
    _replace(
        TrainingDay,
        old,
        (
            TrainingDay(
                level=level,
                district_id=district_id,
                commune_id=commune_id,
                day=day,
                audience=audience,
                computed_at=now,
                **values,
            )
            for (level, district_id, commune_id, day, audience), values in figures.items()
        ),
    )


def _commune_totals(communes: Collection[int] | None, now: datetime, districts) -> None:
    """Team totals and current readiness, which cover all days: recomputed per commune."""
    teams = TeamTotal.objects.all()
    readiness = CommuneReadiness.objects.all()
    if communes is not None:
        teams = teams.filter(commune_id__in=list(communes))
        readiness = readiness.filter(commune_id__in=list(communes))
    _replace(
        TeamTotal,
        teams,
        (
            TeamTotal(
                team_id=row["pk"],
                commune_id=row["commune_id"],
                visits=row["visit_count"],
                households_reached=row["households_reached"],
                last_visited_on=row["last_visited_on"],
                computed_at=now,
            )
            for row in outreach.team_totals(communes)
        ),
    )
    _replace(
        CommuneReadiness,
        readiness,
        (
            CommuneReadiness(
                commune_id=commune_id,
                district_id=districts[commune_id],
                item=item,
                households_yes=yes,
                households_answered=answered,
                computed_at=now,
            )
            for commune_id, items in outreach.readiness_by_commune(communes).items()
            for item, (yes, answered) in items.items()
        ),
    )


def _training_year(year: int, now: datetime) -> None:
    _replace(
        TrainingYear,
        TrainingYear.objects.filter(year=year),
        (
            TrainingYear(
                year=year,
                district_id=district_id,
                commune_id=commune_id,
                people_trained=people,
                officials_trained=officials,
                computed_at=now,
            )
            for district_id, commune_id, people, officials in trainings.people_trained_by_place(
                year
            )
        ),
    )


def _chunks(places_by_day: dict[date, set[int]]) -> Iterator[Cells]:
    """Group the days into chunks of up to CHUNK_DAYS consecutive days with their places."""
    days = sorted(places_by_day)
    while days:
        first = days[0]
        chunk = [d for d in days if d < first + timedelta(days=CHUNK_DAYS)]
        days = days[len(chunk) :]
        yield Cells(places=set().union(*(places_by_day[d] for d in chunk)), days=set(chunk))


def _district_of() -> dict[int, int]:
    return dict(Commune.objects.values_list("pk", "district_id"))


def _recompute(claimed: list[tuple], now: datetime) -> RollupResult:
    commune_days: dict[date, set[int]] = defaultdict(set)
    district_days: dict[date, set[int]] = defaultdict(set)
    province_days: set[date] = set()
    years: set[int] = set()
    for _pk, commune_id, district_id, day, source in claimed:
        if commune_id:
            commune_days[day].add(commune_id)
        elif district_id:
            district_days[day].add(district_id)
        else:
            province_days.add(day)
        if source == RollupSource.TRAININGS:
            years.add(day.year)
    result = RollupResult(claimed=len(claimed), years=len(years))
    districts = _district_of() if commune_days else {}
    for cells in _chunks(commune_days):
        _commune_cells(cells, now, districts)
        result.cells += len(cells.places) * len(cells.days)
    if commune_days:
        _commune_totals(set().union(*commune_days.values()), now, districts)
    for cells in _chunks(district_days):
        _training_cells(Level.DISTRICT, cells, now)
        result.cells += len(cells.places) * len(cells.days)
    if province_days:
        _training_cells(Level.PROVINCE, Cells(days=province_days), now)
        result.cells += len(province_days)
    for year in sorted(years):
        _training_year(year, now)
    return result


# --- The two runs -------------------------------------------------------------------------


def rollup_pending(*, batch: int = CLAIM_BATCH) -> RollupResult:
    """Recompute the buckets writers marked, a batch of marks per transaction."""
    result = RollupResult()
    while True:
        with transaction.atomic():
            _lock()
            claimed = list(
                PendingRollup.objects.order_by("pk").values_list(
                    "pk", "commune_id", "district_id", "day", "source"
                )[:batch]
            )
            if not claimed:
                break
            result.add(_recompute(claimed, timezone.now()))
            PendingRollup.objects.filter(pk__in=[row[0] for row in claimed]).delete()
            _finish(full=False)
        if len(claimed) < batch:
            break
    return result


def _months(first: date, last: date) -> Iterator[tuple[date, date]]:
    start = first.replace(day=1)
    while start <= last:
        following = (start + timedelta(days=32)).replace(day=1)
        yield start, following - timedelta(days=1)
        start = following


def rollup_full() -> RollupResult:
    """Rebuild every summary table from the raw rows, in one transaction.

    Readers keep seeing the previous figures until it commits. The pending rows that
    existed when it started are claimed and deleted with it; later marks wait for the
    next pending run.
    """
    with transaction.atomic():
        _lock()
        claimed = list(PendingRollup.objects.values_list("pk", flat=True))
        now = timezone.now()
        for model in SUMMARY_MODELS:
            model.objects.all().delete()
        districts = _district_of()
        result = RollupResult(claimed=len(claimed))
        spans = [outreach.outreach_span(), trainings.training_span()]
        firsts = [first for first, _last in spans if first]
        lasts = [last for _first, last in spans if last]
        if firsts:
            # Month by month keeps the memory flat whatever the number of visits.
            for start, end in _months(min(firsts), max(lasts)):
                cells = Cells(start=start, end=end)
                result.cells += _commune_cells(cells, now, districts)
                _training_cells(Level.DISTRICT, cells, now)
                _training_cells(Level.PROVINCE, cells, now)
        _commune_totals(None, now, districts)
        for year in sorted(trainings.training_years()):
            _training_year(year, now)
            result.years += 1
        for start in range(0, len(claimed), 10_000):
            PendingRollup.objects.filter(pk__in=claimed[start : start + 10_000]).delete()
        _finish(full=True)
    return result
