"""The roll-up: recompute the summary tables from the raw rows.

Writers record which (place, day) buckets they changed in dashboard.PendingRollup, in
the same transaction as the change. A pending run claims those rows by id, recomputes
their cells from the raw rows (through the outreach and trainings selectors), replaces
the cells' summary rows and deletes exactly the rows it claimed, all in one
transaction: a bucket marked while it ran keeps its row for the next run, and a worker
killed half-way leaves the previous figures and the pending rows as they were.

Runs never overlap: each transaction first locks the one RollupState row. Both runs
replace rows with recomputed ones (never add to them), so running either twice, or a
full run after a pending one, gives the same figures.

The work is set-based: each summary table's rows come from one INSERT ... SELECT built
from the selectors' grouped querysets and run by the database, so no row passes through
Python and the worker's memory does not grow with the data. On PostgreSQL the same
statement compares the new rows with the old and writes only those that differ.
"""

import calendar
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import (
    Count,
    DateField,
    F,
    Max,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from communes.models import Commune
from core.marks import ChangeSource
from outreach.models import Service
from outreach.services.facts import facts_check
from trainings.models import Level

from .aggregates import outreach, trainings
from .models import (
    CommuneDay,
    CommuneDayService,
    CommuneMonth,
    CommuneMonthService,
    CommuneReadiness,
    DistrictDay,
    DistrictDayService,
    HamletDay,
    PendingRollup,
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

# Per sort or hash of a run's queries, PostgreSQL's server memory, not the worker's.
WORK_MEMORY = "128MB"

# Renamed with the state's shape: a process must not unpack one it cannot read.
STATE_CACHE_KEY = "dashboard:figures-state"
# Bounds how stale a page can be if the cache missed the update after a run.
STATE_CACHE_SECONDS = 60

SUMMARY_MODELS = (
    CommuneDay,
    CommuneDayService,
    DistrictDay,
    DistrictDayService,
    CommuneMonth,
    CommuneMonthService,
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


class FiguresState(NamedTuple):
    """What the dashboards' caches are keyed on, and how fresh their figures are."""

    # Names one run's figures and is never used again by another run, a restored
    # database's included (RollupState.generation).
    key: str
    last_run_at: datetime | None
    # When the oldest change still waiting for a run was marked; None: none waits.
    pending_since: datetime | None

    def late(self, now: datetime | None = None) -> bool:
        return figures_late(self.pending_since, now)


def figures_late(pending_since: datetime | None, now: datetime | None = None) -> bool:
    """Whether a change has waited for the roll-up longer than FIGURES_STALE_AFTER_SECONDS:
    the dashboards then say their figures are late, and /healthz/figures answers 503."""
    if pending_since is None:
        return False
    waited = (now or timezone.now()) - pending_since
    return waited > timedelta(seconds=settings.FIGURES_STALE_AFTER_SECONDS)


def state_read_ahead_keys(request, view) -> list[str]:
    """The dashboards and the home page ask the state first (core.cache.read_ahead);
    other pages read it ahead for nothing but a few bytes in the same round trip."""
    return [STATE_CACHE_KEY]


def rollup_state() -> FiguresState:
    """The figures' state as the dashboards read it: cached, at most a minute old."""
    cached = cache.get(STATE_CACHE_KEY)
    if cached is not None:
        return cached
    state = rollup_state_read()
    cache.set(STATE_CACHE_KEY, state, STATE_CACHE_SECONDS)
    return state


def rollup_state_read() -> FiguresState:
    """The figures' state from the database, in one query."""
    row = _state_row().first()
    # No run has ever finished; only then is the oldest mark a query of its own.
    return _state(*row) if row else FiguresState("0", None, pending_since())


def _state_row() -> QuerySet:
    oldest = PendingRollup.objects.order_by("pk").values("marked_at")[:1]
    return (
        RollupState.objects.filter(pk=1)
        .annotate(pending_since=Subquery(oldest))
        .values_list("version", "generation", "last_run_at", "pending_since")
    )


def _state(
    version: int,
    generation: uuid.UUID,
    last_run_at: datetime | None,
    pending_since: datetime | None,
) -> FiguresState:
    return FiguresState(f"{version}.{generation.hex}", last_run_at, pending_since)


def pending_since() -> datetime | None:
    """When the oldest change still waiting for the roll-up was marked (None: none
    waits). The first mark by id, through the primary key's index: runs claim marks
    oldest first, so the lowest id is the one that has waited longest."""
    return PendingRollup.objects.order_by("pk").values_list("marked_at", flat=True).first()


def rollup_running() -> bool:
    """Whether a run holds the state row's lock at this moment (PostgreSQL; on SQLite,
    which has no row locks, never). Asks without waiting for it."""
    with transaction.atomic():
        unlocked = RollupState.objects.select_for_update(skip_locked=True).filter(pk=1)
        return not unlocked.exists() and RollupState.objects.filter(pk=1).exists()


def _lock() -> RollupState:
    """Lock the state row for the rest of the transaction: one run at a time.

    SQLite has no row locks but lets one writer at a time anyway.
    """
    RollupState.objects.get_or_create(pk=1)
    return RollupState.objects.select_for_update().get(pk=1)


def _bulk_settings() -> None:
    """PostgreSQL settings for the rest of the run's transaction: room for its sorts and
    hashes (with the default they spill to disk), no JIT compilation, which takes
    seconds on statements this large and saves less than that, and a commit that does
    not wait for the disk. A run lost to a crash after its commit is lost whole, with
    the marks it deleted: they come back and the next run redoes it, so only the wait
    for the write-ahead log's flush (tens of milliseconds, most of a small run's
    commit) is saved. The writers' transactions keep waiting for it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = %s", [WORK_MEMORY])
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL synchronous_commit = off")


def _finish(*, full: bool, started: float) -> None:
    """Publish a run: a new key for the figures, when it ended and how long it took
    (`started` from time.monotonic())."""
    now = timezone.now()
    seconds = time.monotonic() - started
    changes = {
        "version": F("version") + 1,
        "generation": uuid.uuid4(),
        "last_run_at": now,
        "last_run_seconds": seconds,
    }
    if full:
        changes.update(last_full_at=now, last_full_seconds=seconds)
    RollupState.objects.filter(pk=1).update(**changes)
    # With the marks this run leaves (made while it ran) as the oldest pending.
    state = _state(*_state_row().get())

    def publish() -> None:
        # Lost while the cache is away: the state it holds expires within a minute.
        cache.set(STATE_CACHE_KEY, state, STATE_CACHE_SECONDS)

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
            queryset = queryset.filter(**{f"{place}__any": list(self.places)})
        if self.days is not None:
            queryset = queryset.filter(day__any=list(self.days))
        if self.start is not None:
            queryset = queryset.filter(day__gte=self.start)
        if self.end is not None:
            queryset = queryset.filter(day__lte=self.end)
        return queryset

    def lookups(self) -> dict:
        return {"days": self.days, "start": self.start, "end": self.end}


Source = QuerySet | tuple[str, list]


def _sql(source: Source) -> tuple[str, list] | None:
    """The source's SQL and parameters; None when it can have no rows (Django's answer
    to a filter on an empty list)."""
    if isinstance(source, QuerySet):
        try:
            sql, params = source.query.sql_with_params()
        except EmptyResultSet:
            return None
        return sql, list(params)
    return source


def _columns(model) -> list:
    """The fields the roll-up writes from its sources: all but the id, computed_at and
    the running totals (kept afterwards, running_totals_refresh)."""
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name != "computed_at" and f.name not in model.RUNNING_TOTALS
    ]


def _keys(model) -> list:
    """The fields that name a row, as the model declares them (KEY_FIELDS)."""
    return [model._meta.get_field(name) for name in model.KEY_FIELDS]


def _is_figure(model, field) -> bool:
    return field.name in model.FIGURE_FIELDS


def _new_rows(model, sources: Source | list[Source]) -> tuple[str, list] | None:
    """One SELECT of the table's columns from the sources: several are added up by key
    (their integer figures summed, grouped by the other columns). None: no rows."""
    quote = connection.ops.quote_name
    fields = _columns(model)
    if not isinstance(sources, list):
        if (part := _sql(sources)) is None:
            return None
        sql, params = part
        return f"SELECT {', '.join(f'q.{quote(f.column)}' for f in fields)} FROM ({sql}) q", params
    parts = [part for part in map(_sql, sources) if part is not None]
    if not parts:
        return None
    params = [param for _part, part_params in parts for param in part_params]
    # Figures are added up (they are counts); the other columns are grouped by. Each
    # source is named with the table's columns (a WITH's column list: the sources'
    # own names vary), and its counts made integers, so that every branch of the
    # UNION ALL has the same types: PostgreSQL then reads them as one list of rows,
    # where branches of differing types nest, a projection each (which took two
    # thirds of a full run's commune days), and adds bigint counts up as numeric.
    columns = [quote(f.column) for f in fields]
    figure = {quote(f.column): _is_figure(model, f) for f in fields}
    named = ", ".join(
        f"s{i}({', '.join(columns)}) AS ({part})" for i, (part, _params) in enumerate(parts)
    )
    branch = ", ".join(
        f"CAST({column} AS integer) AS {column}" if is_figure else column
        for column, is_figure in figure.items()
    )
    union = " UNION ALL ".join(f"SELECT {branch} FROM s{i}" for i in range(len(parts)))
    select = ", ".join(
        f"SUM(q.{column}) AS {column}" if is_figure else f"q.{column}"
        for column, is_figure in figure.items()
    )
    keys = ", ".join(f"q.{column}" for column, is_figure in figure.items() if not is_figure)
    return f"WITH {named} SELECT {select} FROM ({union}) q GROUP BY {keys}", params  # noqa: S608


def _replace(model, old: QuerySet, sources: Source | list[Source], now: datetime) -> None:
    """Make the table's rows in `old` those of the sources, in the database.

    Each source's columns carry the table's column names; several sources are added up
    by key. On PostgreSQL only the rows that differ are written, in one statement:
    rewriting a row costs far more than comparing it (index entries, foreign-key
    checks), and most rows of a run are unchanged. Elsewhere the rows are replaced.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = _columns(model)
    columns = ", ".join(quote(f.column) for f in fields)
    if (new := _new_rows(model, sources)) is None:
        old.delete()
        return
    new_sql, new_params = new
    old_rows = _sql(old.order_by().values_list("id", *(f.attname for f in fields)))
    computed_at = model._meta.get_field("computed_at").get_db_prep_save(now, connection)
    if connection.vendor != "postgresql" or old_rows is None:
        with connection.cursor() as cursor:
            # Read before the old rows go: a source may read them (the roster changes a
            # commune's days keep, _roster_kept).
            cursor.execute(f"SELECT {columns}, %s FROM ({new_sql}) n", [computed_at, *new_params])  # noqa: S608
            rows = cursor.fetchall()
            old.delete()
            cursor.executemany(
                f"INSERT INTO {table} ({columns}, computed_at) "  # noqa: S608 - names from the model
                f"VALUES ({', '.join(['%s'] * (len(fields) + 1))})",
                rows,
            )
        return
    keys = _keys(model)
    others = [f for f in fields if f not in keys]
    old_sql, old_params = old_rows

    def same(f) -> str:
        # Ids are positive: -1 stands for none, so that a key may be null and still join.
        n, o = f"n.{quote(f.column)}", f"o.{quote(f.column)}"
        return f"COALESCE({n}, -1) = COALESCE({o}, -1)" if f.null else f"{n} = {o}"

    # The update finds its rows by id through the key's index (the ids as an array),
    # not by a hash join that reads the whole table, as the planner chooses once the
    # changed rows are more than a few hundred.
    present = quote(next(f.column for f in keys if not f.null))
    changed = ", ".join(f"{quote(f.column)} = d.{quote(f.column)}" for f in others)
    sql = f"""
        WITH n AS ({new_sql}),
        o AS ({old_sql}),
        diff AS MATERIALIZED (
            SELECT {", ".join(f"n.{quote(f.column)}" for f in fields)}, o.id AS old_id,
                   n.{present} IS NULL AS gone
            FROM n FULL JOIN o ON {" AND ".join(same(f) for f in keys)}
            WHERE o.id IS NULL OR n.{present} IS NULL
               OR ({", ".join(f"n.{quote(f.column)}" for f in others)})
                  IS DISTINCT FROM ({", ".join(f"o.{quote(f.column)}" for f in others)})
        ),
        changed AS (
            UPDATE {table} t SET {changed}, computed_at = %s
            FROM diff d WHERE t.id = d.old_id AND NOT d.gone
            AND t.id = ANY(ARRAY(SELECT old_id FROM diff WHERE old_id IS NOT NULL AND NOT gone))
        ),
        gone AS (DELETE FROM {table} WHERE id IN (SELECT old_id FROM diff WHERE gone))
        INSERT INTO {table} ({columns}, computed_at)
        SELECT {columns}, %s FROM diff WHERE old_id IS NULL
    """  # noqa: S608 - names from the model, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*new_params, *old_params, computed_at, computed_at])


def _commune_days_from_summaries(cells: Cells) -> list[QuerySet]:
    """CommuneDay's visits, residents helped and teams out as the sums of the cells'
    TeamDay rows, and its first visits as those of their HamletDay rows, in CommuneDay's
    columns with zeros in the others: a pass over the day's summary rows instead of
    two more over all the visits. (Both count a visit where it was recorded.)"""
    figures = [CommuneDay._meta.get_field(name).column for name in CommuneDay.FIGURE_FIELDS]

    def rows(summary, **sums):
        zeros = {name: Value(0) for name in figures if name not in sums}
        return (
            cells.narrow(summary.objects.order_by(), "commune_id")
            .values("commune_id", "day", district_id=F("commune__district_id"))
            .annotate(**sums, **zeros)
            .values_list("commune_id", "district_id", "day", *figures)
        )

    return [
        # Return visits are the visits less the first ones. A sum named as its
        # column comes last: from then on the name means the sum.
        rows(
            TeamDay,
            return_visits=Sum("visits"),
            teams_visiting=Count("pk"),
            visits=Sum("visits"),
            residents_helped=Sum("residents_helped"),
        ),
        rows(
            HamletDay,
            return_visits=-Sum("households_first"),
            households_first=Sum("households_first"),
        ),
    ]


def _roster_kept(cells: Cells) -> QuerySet:
    """The roster changes the cells' commune days have, in CommuneDay's columns with
    zeros in the others; a day with none gives no row (a day whose visits all went
    must go too)."""
    kept = {
        f"kept_{name}": F(name) if name in CommuneDay.ROSTER else Value(0)
        for name in CommuneDay.FIGURE_FIELDS
    }
    some = Q()
    for name in CommuneDay.ROSTER:
        some |= Q(**{f"{name}__gt": 0})
    return (
        cells.narrow(CommuneDay.objects.order_by(), "commune_id")
        .filter(some)
        .annotate(**kept)
        .values_list("commune_id", "district_id", "day", *kept)
    )


@dataclass
class TeamChange:
    """What a team's total changes by: its visits and households reached in the
    recomputed cells, after less before; its last day with visits among them now; and
    whether it had any there before (a visit of it may have gone or moved: its last
    visit is then looked up again)."""

    visits: int = 0
    reached: int = 0
    last: date | None = None
    had_days: bool = False

    def add(self, other: "TeamChange") -> None:
        self.visits += other.visits
        self.reached += other.reached
        self.last = max(filter(None, (self.last, other.last)), default=None)
        self.had_days = self.had_days or other.had_days


def _team_sums(team_days: QuerySet) -> dict[int, tuple[int, int, date]]:
    """Per team, its visits, households reached and last day over the given day rows."""
    rows = (
        team_days.order_by()
        .values("team_id")
        .annotate(v=Sum("visits"), h=Sum("households_new"), last=Max("day"))
        .values_list("team_id", "v", "h", "last")
    )
    return {team: (v, h, last) for team, v, h, last in rows}


def _team_changes(before: dict, after: dict) -> dict[int, TeamChange]:
    nothing = (0, 0, None)
    return {
        team: TeamChange(
            visits=after.get(team, nothing)[0] - before.get(team, nothing)[0],
            reached=after.get(team, nothing)[1] - before.get(team, nothing)[1],
            last=after.get(team, nothing)[2],
            had_days=team in before,
        )
        for team in before.keys() | after.keys()
    }


def _commune_cells(cells: Cells, now: datetime, *, roster: bool = True) -> dict[int, TeamChange]:
    """Recompute the outreach rows of the cells: team and hamlet days first, as the
    commune days are partly their sums. Returns, per team that worked in the cells
    before or now, what its total changes by.

    `roster=False`: only visits changed in the cells, so the commune days keep the
    roster changes (teams formed and dissolved, members who joined and left) they
    have, instead of reading them again from the teams and members."""
    lookups = {"communes": cells.places, **cells.lookups()}
    team_days = cells.narrow(TeamDay.objects.all(), "commune_id")
    # A full run adds every team's days up again (_all_totals): no change to work out.
    whole = cells.places is None and cells.days is None
    before = {} if whole else _team_sums(team_days)
    _replace(TeamDay, team_days, outreach.team_day_figures(**lookups), now)
    after = {} if whole else _team_sums(team_days)
    changes = _team_changes(before, after)
    _replace(
        HamletDay,
        cells.narrow(HamletDay.objects.all(), "commune_id"),
        outreach.hamlet_day_figures(**lookups),
        now,
    )
    _replace(
        CommuneDay,
        cells.narrow(CommuneDay.objects.all(), "commune_id"),
        [
            *_commune_days_from_summaries(cells),
            outreach.members_by_commune_day(**lookups),
            *(outreach.roster_by_commune_day(**lookups) if roster else [_roster_kept(cells)]),
        ],
        now,
    )
    _replace(
        CommuneDayService,
        cells.narrow(CommuneDayService.objects.all(), "commune_id"),
        outreach.commune_day_service_figures(**lookups),
        now,
    )
    _months(CommuneDay, CommuneMonth, cells, now)
    _months(CommuneDayService, CommuneMonthService, cells, now)
    _district_days(cells, now)
    return changes


def months_rebuild() -> None:
    """Every month row and running total again from the day rows (tests that write day
    rows by hand)."""
    now = timezone.now()
    _months(CommuneDay, CommuneMonth, Cells(), now)
    _months(CommuneDayService, CommuneMonthService, Cells(), now)
    _district_days(Cells(), now)
    running_totals_refresh()
    running_totals_refresh(model=DistrictDay)
    running_totals_refresh(model=DistrictDayService)


def _months(day_model, month_model, cells: Cells, now: datetime) -> None:
    """The month rows of the cells' communes and months, added up from their day rows
    (just replaced): a month is recomputed whole, from at most 31 day rows a commune."""
    days = day_model.objects.order_by()
    old = month_model.objects.all()
    if cells.places is not None:
        days = days.filter(commune_id__any=list(cells.places))
        old = old.filter(commune_id__any=list(cells.places))
    days = days.annotate(month=TruncMonth("day", output_field=DateField()))
    if cells.days is not None:
        months = sorted({day.replace(day=1) for day in cells.days})
        # A range first, which the (commune, day) index answers; then the months in it.
        # It ends on the last month's last day (the next month's first is no date after
        # December 9999).
        last = months[-1]
        end = last.replace(day=calendar.monthrange(last.year, last.month)[1])
        days = days.filter(day__gte=months[0], day__lte=end, month__any=months)
        old = old.filter(month__any=months)
    keys = [f.attname for f in _keys(month_model) if f.name != "month"]
    figures = list(month_model.FIGURE_FIELDS)
    rows = (
        days.values(*keys, "district_id", "month")
        .annotate(**{name: Sum(name) for name in figures})
        .values_list(*keys, "district_id", "month", *figures)
    )
    _replace(month_model, old, rows, now)


def _district_days(cells: Cells, now: datetime) -> None:
    """The district days (DistrictDay, DistrictDayService) of the cells' communes and
    days, added up from their commune rows (just replaced): a district's day is
    recomputed whole, from its communes' rows of that day. Their running totals follow
    (running_totals_refresh)."""
    districts = _districts_of(cells.places)
    old = Cells(districts, cells.days, cells.start, cells.end)
    # A commune's day of roster changes only has no visits to add.
    days = old.narrow(CommuneDay.objects.order_by(), "district_id").filter(
        Q(visits__gt=0) | Q(households_first__gt=0)
    )
    _replace(
        DistrictDay,
        old.narrow(DistrictDay.objects.all(), "district_id"),
        days.values("district_id", "day")
        .annotate(visits=Sum("visits"), households_first=Sum("households_first"))
        .values_list("district_id", "day", "visits", "households_first"),
        now,
    )
    services = old.narrow(CommuneDayService.objects.order_by(), "district_id")
    _replace(
        DistrictDayService,
        old.narrow(DistrictDayService.objects.all(), "district_id"),
        services.values("district_id", "service_id", "day")
        .annotate(visits=Sum("visits"))
        .values_list("district_id", "service_id", "day", "visits"),
        now,
    )


def _districts_of(communes: Collection[int] | None) -> list[int] | None:
    if communes is None:
        return None
    return sorted(
        set(Commune.objects.filter(pk__in=list(communes)).values_list("district_id", flat=True))
    )


def running_totals_refresh(since: dict | None = None, model=CommuneDay) -> None:
    """A summary table's running totals again (CommuneDay's, DistrictDay's, DistrictDayService's):
    for each of its series (the rows of one key but the day: a commune, a district and
    service) from the given day on, whose earlier rows are as they were and the last of
    them where its totals start; or for every row of every series (None). `since` maps
    a series' key (its value, or a tuple of them) to its first changed day. A change
    today rewrites today's row's totals only; one back in time, the series' rows from
    then on. Only rows that differ are written."""
    if since is not None and not since:
        return
    series = RunningSeries(model)
    if since is None:
        _running_totals_all(series)
        return
    since = {key if isinstance(key, tuple) else (key,): day for key, day in since.items()}
    if connection.vendor == "postgresql":
        _running_totals_since(series, since)
    else:
        _running_totals_joined(series, since)


class RunningSeries:
    """How a table's running totals are computed: over the rows `d` of each series (its
    key but the day) in the order of their days."""

    def __init__(self, model):
        quote = connection.ops.quote_name
        self.model = model
        self.table = quote(model._meta.db_table)
        self.keys = [f.column for f in _keys(model) if f.name != "day"]
        self.totals = list(model.RUNNING_TOTALS)
        self.names = ", ".join(quote(name) for name in self.totals)
        self.window = (
            f"WINDOW w AS (PARTITION BY {', '.join(f'd.{quote(k)}' for k in self.keys)} "
            "ORDER BY d.day)"
        )

    def columns(self, base: str | None) -> str:
        """The running totals' select list over the day rows `d`, each added to the base
        row's totals when given."""
        quote = connection.ops.quote_name
        columns = []
        for name, (added, removed) in self.model.RUNNING_TOTALS.items():
            change = f"d.{quote(added)}" + (f" - d.{quote(removed)}" if removed else "")
            start = f"COALESCE({base}.{quote(name)}, 0) + " if base else ""
            columns.append(f"{start}SUM({change}) OVER w AS {quote(name)}")
        return ", ".join(columns)

    def same_series(self, a: str, b: str) -> str:
        quote = connection.ops.quote_name
        return " AND ".join(f"{a}.{quote(k)} = {b}.{quote(k)}" for k in self.keys)


def _running_totals_update(series: RunningSeries, sql: str, params: list) -> None:
    """Write the rows (id, *totals) of `sql` whose totals differ from the stored ones."""
    quote = connection.ops.quote_name
    table = series.table
    assign = ", ".join(f"{quote(name)} = r.{quote(name)}" for name in series.totals)
    differ = " OR ".join(f"{table}.{quote(name)} <> r.{quote(name)}" for name in series.totals)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH r AS ({sql}) UPDATE {table} SET {assign} FROM r "  # noqa: S608
            f"WHERE {table}.id = r.id AND ({differ})",
            params,
        )


def _running_totals_all(series: RunningSeries) -> None:
    sql = f"SELECT d.id, {series.columns(None)} FROM {series.table} d {series.window}"  # noqa: S608
    _running_totals_update(series, sql, [])


def _running_totals_joined(series: RunningSeries, since: dict[tuple, date]) -> None:
    """From each series' day on, in a join any database runs (SQLite's path)."""
    quote = connection.ops.quote_name
    table = series.table
    keys = ", ".join(quote(k) for k in series.keys)
    starts = ", ".join([f"({', '.join(['%s'] * (len(series.keys) + 1))})"] * len(since))
    sql = f"""
        WITH starts({keys}, since) AS (VALUES {starts}),
        base AS (
            SELECT s.*, (
                SELECT p.id FROM {table} p WHERE {series.same_series("p", "s")}
                AND p.day < s.since ORDER BY p.day DESC LIMIT 1
            ) AS base_id
            FROM starts s
        )
        SELECT d.id, {series.columns("b")}
        FROM {table} d
        JOIN base ON {series.same_series("d", "base")} AND d.day >= base.since
        LEFT JOIN {table} b ON b.id = base.base_id
        {series.window}
    """  # noqa: S608 - names from the model, values are parameters
    params = [value for key, day in sorted(since.items()) for value in (*key, day)]
    _running_totals_update(series, sql, params)


def _running_totals_since(series: RunningSeries, since: dict[tuple, date]) -> None:
    """From each series' day on, on PostgreSQL: each series' rows from its day, and the
    row before them, read through the key's index (LATERAL; OFFSET 0 keeps the planner
    from flattening it into a join, which it plans as a scan of the whole table: a
    hundred milliseconds at 150,000 rows for a day's change); then the rows whose
    totals changed are written by id. Both take their rows as arrays, a few parameters
    however many series and rows."""
    quote = connection.ops.quote_name
    table = series.table
    names = series.names
    stored = ", ".join(f"d.{quote(name)} AS {quote('old_' + name)}" for name in series.totals)
    arrays = ", ".join("%s::bigint[]" for _key in series.keys)
    keys = ", ".join(quote(k) for k in series.keys)
    sql = f"""
        SELECT id, {names} FROM (
            SELECT d.id, {series.columns("b")}, {stored}
            FROM unnest({arrays}, %s::date[]) AS s({keys}, since)
            CROSS JOIN LATERAL (
                SELECT * FROM {table} p WHERE {series.same_series("p", "s")}
                AND p.day >= s.since OFFSET 0
            ) d
            LEFT JOIN LATERAL (
                SELECT * FROM {table} p WHERE {series.same_series("p", "s")}
                AND p.day < s.since ORDER BY p.day DESC LIMIT 1
            ) b ON TRUE
            {series.window}
        ) r
        WHERE ({names}) IS DISTINCT FROM ({", ".join(quote("old_" + n) for n in series.totals)})
    """  # noqa: S608 - names from the model, values are parameters
    ordered = sorted(since)
    columns = [[key[i] for key in ordered] for i in range(len(series.keys))]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*columns, [since[key] for key in ordered]])
        rows = cursor.fetchall()
        if not rows:
            return
        assign = ", ".join(f"{quote(name)} = r.{quote(name)}" for name in series.totals)
        values, params = _rows(rows, ("bigint",) * (len(series.totals) + 1))
        cursor.execute(
            f"UPDATE {table} SET {assign} FROM ({values}) "  # noqa: S608
            f"AS r(id, {names}) WHERE {table}.id = r.id",
            params,
        )


def _training_cells(level: str | None, cells: Cells, now: datetime) -> None:
    """Recompute the training rows of the cells at one level (None: every level)."""
    place = {Level.COMMUNE: "commune_id", Level.DISTRICT: "district_id"}.get(level)
    old = TrainingDay.objects.all() if level is None else TrainingDay.objects.filter(level=level)
    _replace(
        TrainingDay,
        cells.narrow(old, place),
        trainings.training_day_figures(level, places=cells.places, **cells.lookups()),
        now,
    )


def _team_totals_change(
    communes: Collection[int], changes: dict[int, TeamChange], now: datetime
) -> None:
    """Add to the teams' totals what their recomputed days changed by, and give a total
    to the communes' teams that have none yet (new teams; their few days added up).

    By the changed days only: summing every day of every team that worked would read
    a year of day rows for one new visit. A team's last visit is the later of its last
    and its new days' when it had no days among the cells before (new days only add);
    otherwise it is looked up again on its days' (team, day) index."""
    missing = outreach.teams_without_total(communes, changes)
    if missing:
        _replace(
            TeamTotal,
            TeamTotal.objects.filter(team_id__any=list(missing)),
            _team_totals(missing),
            now,
        )
    rows = [
        (team, change.visits, change.reached, change.last, change.had_days)
        for team, change in sorted(changes.items())
        if team not in missing
    ]
    if not rows:
        return
    table = connection.ops.quote_name(TeamTotal._meta.db_table)
    days = connection.ops.quote_name(TeamDay._meta.db_table)
    values, params = _rows(rows, ("bigint", "bigint", "bigint", "date", "boolean"))
    computed_at = TeamTotal._meta.get_field("computed_at").get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH d(team_id, visits, reached, last, had_days) AS ({values})
            UPDATE {table} SET visits = {table}.visits + d.visits,
                households_reached = {table}.households_reached + d.reached,
                last_visited_on = CASE
                    WHEN d.had_days THEN (SELECT MAX(day) FROM {days} WHERE team_id = d.team_id)
                    WHEN {table}.last_visited_on IS NULL OR d.last > {table}.last_visited_on
                        THEN d.last
                    ELSE {table}.last_visited_on
                END,
                computed_at = %s
            FROM d WHERE {table}.team_id = d.team_id
            """,  # noqa: S608 - names from the models, values are parameters
            [*params, computed_at],
        )


def _rows(rows: list[tuple], types: tuple[str, ...]) -> tuple[str, list]:
    """A query of the rows, to name in a WITH: on PostgreSQL their columns as arrays of
    the given types (a parameter a column, which parses in microseconds however many
    rows); elsewhere a VALUES list."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        return f"SELECT * FROM unnest({arrays})", [list(c) for c in zip(*rows, strict=True)]
    values = ", ".join(["(" + ", ".join(["%s"] * len(types)) + ")"] * len(rows))
    return f"VALUES {values}", [value for row in rows for value in row]


def _readiness(communes: Collection[int], now: datetime) -> None:
    """The communes' current readiness, from their readiness days: only for the
    communes where a household's checklist changed."""
    _replace(
        CommuneReadiness,
        CommuneReadiness.objects.filter(commune_id__any=list(communes)),
        outreach.readiness_figures(communes),
        now,
    )


def _team_totals(teams: Collection[int] | None = None) -> tuple[str, list]:
    """The rows (team_id, commune_id, visits, households_reached, last_visited_on) of the
    teams (None: every team), visited or not, added up from their day rows (just
    recomputed): a pass over the teams' days, not over their visits."""
    teams_sql, teams_params = outreach.team_rows(teams)
    days = TeamDay.objects.order_by()
    if teams is not None:
        days = days.filter(team_id__any=list(teams))
    days_sql, days_params = (
        days.values("team_id")
        .annotate(visits_sum=Sum("visits"), reached=Sum("households_new"), last=Max("day"))
        .query.sql_with_params()
    )
    sql = f"""
        SELECT t.id AS team_id, t.commune_id AS commune_id,
               COALESCE(d.visits_sum, 0) AS visits, COALESCE(d.reached, 0) AS households_reached,
               d.last AS last_visited_on
        FROM ({teams_sql}) t LEFT JOIN ({days_sql}) d ON d.team_id = t.id
    """  # noqa: S608 - SQL from the ORM
    return sql, [*teams_params, *days_params]


def _all_totals(now: datetime) -> None:
    _replace(TeamTotal, TeamTotal.objects.all(), _team_totals(), now)
    _replace(CommuneReadiness, CommuneReadiness.objects.all(), outreach.readiness_figures(), now)


def _training_year(year: int, now: datetime) -> None:
    _replace(
        TrainingYear,
        TrainingYear.objects.filter(year=year),
        trainings.people_trained_figures(year),
        now,
    )


def _chunks(places_by_day: dict[date, set[int]]) -> Iterator[Cells]:
    """Group the days into chunks of up to CHUNK_DAYS consecutive days with their places."""
    days = sorted(places_by_day)
    while days:
        first = days[0]
        # By the days between, not first + CHUNK_DAYS: that is past date.max for a day
        # typed in the year 9999.
        chunk = [d for d in days if (d - first).days < CHUNK_DAYS]
        days = days[len(chunk) :]
        yield Cells(places=set().union(*(places_by_day[d] for d in chunk)), days=set(chunk))


def _recompute(claimed: list[tuple], now: datetime) -> RollupResult:
    # Commune days by what changed in them: visits (outreach), the roster (also
    # outreach's figures, with the roster's), trainings.
    outreach_days: dict[date, set[int]] = defaultdict(set)
    roster_days: set[tuple[int, date]] = set()
    training_days: dict[date, set[int]] = defaultdict(set)
    district_days: dict[date, set[int]] = defaultdict(set)
    province_days: set[date] = set()
    years: set[int] = set()
    readiness: set[int] = set()
    for _pk, commune_id, district_id, day, source in claimed:
        if source == ChangeSource.READINESS:
            readiness.add(commune_id)
        elif commune_id and source == ChangeSource.TRAININGS:
            training_days[day].add(commune_id)
        elif commune_id:
            outreach_days[day].add(commune_id)
            if source == ChangeSource.ROSTER:
                roster_days.add((commune_id, day))
        elif district_id:
            district_days[day].add(district_id)
        else:
            province_days.add(day)
        if source == ChangeSource.TRAININGS:
            years.add(day.year)
    result = RollupResult(claimed=len(claimed), years=len(years))
    teams: dict[int, TeamChange] = defaultdict(TeamChange)
    # Each commune's running totals from the first day it was recomputed on: a chunk
    # recomputes each of its communes on each of its days, and where rows are replaced
    # rather than compared (SQLite) a commune's row on another commune's day comes back
    # with no totals.
    since: dict[int, date] = {}
    for cells in _chunks(outreach_days):
        roster = any(
            (commune_id, day) in roster_days for day in cells.days for commune_id in cells.places
        )
        for team, change in _commune_cells(cells, now, roster=roster).items():
            teams[team].add(change)
        result.cells += len(cells.places) * len(cells.days)
        first = min(cells.days)
        for commune_id in cells.places:
            since[commune_id] = min(first, since.get(commune_id, first))
    if outreach_days:
        _team_totals_change(set().union(*outreach_days.values()), teams, now)
        running_totals_refresh(since)
        districts = _district_since(since)
        running_totals_refresh(districts, model=DistrictDay)
        # Every service of each district: a series with no row from then on costs one
        # index probe.
        services = list(Service.objects.values_list("pk", flat=True))
        running_totals_refresh(
            {(d, service): day for d, day in districts.items() for service in services},
            model=DistrictDayService,
        )
    if readiness:
        _readiness(readiness, now)
    for cells in _chunks(training_days):
        _training_cells(Level.COMMUNE, cells, now)
        result.cells += len(cells.places) * len(cells.days)
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


def _district_since(since: dict[int, date]) -> dict[int, date]:
    """Communes' first recomputed days as their districts'."""
    district_of = dict(Commune.objects.filter(pk__in=list(since)).values_list("pk", "district_id"))
    by_district: dict[int, date] = {}
    for commune_id, day in since.items():
        district = district_of[commune_id]
        by_district[district] = min(day, by_district.get(district, day))
    return by_district


def _pending_delete(ids: list[int]) -> None:
    """Delete exactly the claimed marks; on PostgreSQL as one array parameter, which
    parses in a fraction of the time of thousands of placeholders."""
    if connection.vendor == "postgresql":
        # The range lets the key's index find them whatever the planner believes of the
        # table (empty between runs, by its statistics).
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {PendingRollup._meta.db_table} "  # noqa: S608
                f"WHERE id BETWEEN %s AND %s AND id = ANY(%s)",
                [min(ids), max(ids), ids],
            )
    else:
        for start in range(0, len(ids), 500):
            PendingRollup.objects.filter(pk__in=ids[start : start + 500]).delete()


def rollup_pending(*, batch: int = CLAIM_BATCH) -> RollupResult:
    """Recompute the buckets writers marked, a batch of marks per transaction."""
    result = RollupResult()
    while True:
        with transaction.atomic():
            started = time.monotonic()
            _lock()
            _bulk_settings()
            claimed, more_left = _claim(batch)
            if not claimed:
                break
            result.add(_recompute(claimed, timezone.now()))
            _pending_delete([row[0] for row in claimed])
            _finish(full=False, started=started)
        if not more_left:
            break
    return result


def _claim(batch: int) -> tuple[list[tuple], bool]:
    """The oldest `batch` marks and every other mark of the same buckets, and whether
    later marks of other buckets may be left.

    Recomputing a bucket covers all its marks, so 100,000 visits of one day are one
    recomputation, not one per batch. Every claimed mark is read here, before the
    recomputation reads the raw rows: a mark commits with its change, so each claimed
    mark's change is visible to it, and a mark committed later stays for the next run.
    """
    fields = ("pk", "commune_id", "district_id", "day", "source")
    first = list(PendingRollup.objects.order_by("pk").values_list(*fields)[:batch])
    if len(first) < batch:
        return first, False
    buckets = {row[1:] for row in first}
    seen = {row[0] for row in first}
    same = PendingRollup.objects.filter(day__in={row[3] for row in first}).values_list(*fields)
    more = [row for row in same.iterator() if row[0] not in seen and row[1:] in buckets]
    return first + more, True


def _facts_check() -> None:
    """Check the write-time facts the summaries are rebuilt from against the raw rows,
    repair any that differ, and say so: in the error log and in the state's counts,
    which /metrics exposes."""
    started = time.monotonic()
    found = facts_check(repair=True)
    differences = sum(found.values())
    if differences:
        logger.error(
            "write-time facts differed from the raw rows and were repaired: %s",
            ", ".join(f"{kind} {count}" for kind, count in found.items() if count),
        )
    RollupState.objects.filter(pk=1).update(
        facts_check_seconds=time.monotonic() - started,
        facts_differences_last=differences,
        facts_differences_total=F("facts_differences_total") + differences,
    )


def rollup_full() -> RollupResult:
    """Rebuild every summary table from the raw rows, in one transaction.

    Readers keep seeing the previous figures until it commits. The pending rows that
    existed when it started are claimed and deleted with it; later marks wait for the
    next pending run. Each table is one INSERT ... SELECT over everything: the rows never
    come to Python, so the run's memory does not grow with the data.
    """
    with transaction.atomic():
        _lock()
        _facts_check()
        started = time.monotonic()
        _bulk_settings()
        claimed = list(PendingRollup.objects.values_list("pk", flat=True))
        now = timezone.now()
        everything = Cells()
        result = RollupResult(claimed=len(claimed))
        _commune_cells(everything, now)
        running_totals_refresh()
        running_totals_refresh(model=DistrictDay)
        running_totals_refresh(model=DistrictDayService)
        _training_cells(None, everything, now)
        _all_totals(now)
        years = trainings.training_years()
        # The years without any training left (their last session moved or cancelled).
        TrainingYear.objects.exclude(year__in=years).delete()
        for year in sorted(years):
            _training_year(year, now)
        result.years = len(years)
        result.cells = CommuneDay.objects.count()
        for start in range(0, len(claimed), CLAIM_BATCH):
            _pending_delete(claimed[start : start + CLAIM_BATCH])
        _finish(full=True, started=started)
    return result
