"""Province-scale data for the benchmark: valid, deterministic for a seed, and fast.

What it writes (all marked as demo data where the model has the flag):
- the 226 real communes (loaded if missing) with 4 to 8 hamlets each where a commune has
  none, and demo figures where a commune's figures are empty (communes/demo.py);
- 2,160 teams, about 9 to 10 per commune weighted by the commune's households, most
  formed before the two years of visits and some during the first eighteen months;
- 16,000 members: one leader per team, a deputy, members; some joined later, some left;
  8,900 on the national DX Zalo OA (DOMAIN.md);
- 600,000 households spread over the communes by their households, and over the
  hamlets of each commune;
- N visits over the two years ending on the end date (yesterday by default): more in
  busy communes, fewer on Saturdays and far fewer on Sundays, almost none around Tết,
  heavier in the campaign months (March, youth month; July, the volunteer summer;
  October, the national digital transformation day), and growing as the campaign
  ramps up. A commune's teams go door to door: a visit is either the first visit of the
  next household on the commune's round or a return visit to one already visited;
  busy communes reach more of their households. Each visit has 1 to 3 members of its
  team and 0 to 3 services, as its outcome allows (outreach's OUTCOME_RULES); some
  carry readiness answers (never one that found nobody at home), and each household's
  checklist is the latest answer per item, as the visit services keep it;
- a year of training sessions with min(1,000,000, N // 5) named attendances (one million
  from N = 5,000,000 up), with headcounts and topics; min(20,000, N // 25) online-course
  records (MOOCs).

How it stays fast: everything big is streamed with COPY in chunks from a second thread,
so the next chunk is generated while Postgres stores this one; visits and households get
ids from a block reserved on their sequence, so the rows that refer to them can be written
without reading anything back. As a superuser the load runs with
session_replication_role = replica, which skips the per-row foreign-key triggers; every
reference to a generated table is checked afterwards in one query per column instead
(the ids are contiguous blocks, so a range check proves them). Without superuser rights
the triggers run as usual and the checks are forced before the load returns. The memory stays flat:
per household two small integers, and one chunk of rows in flight.

Deterministic: one random.Random stream per seed, drawn in a fixed order; the only input
from the clock is the default end date, which the caller can pin.
"""

import datetime as dt
import io
import math
import queue
import random
import resource
import threading
import time
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction

from communes import demo as communes_demo
from communes.models import Commune, District, Hamlet, Province
from communes.services import divisions_load
from core.text import fold, name_key
from dashboard.models import PendingRollup
from dashboard.rollup import SUMMARY_MODELS
from outreach import demo as outreach_demo
from outreach.models import (
    READINESS_FIELDS,
    Household,
    Member,
    MemberDay,
    ReadinessDay,
    ReadinessLevel,
    Service,
    Team,
    Visit,
)
from outreach.services.visits import OUTCOME_RULES
from trainings import demo as trainings_demo
from trainings.models import (
    Attendance,
    Audience,
    CourseEnrolment,
    Headcount,
    Level,
    Topic,
    TrainingSession,
)
from trainings.services import person_key

SIZES = {"S": 500_000, "M": 5_000_000, "L": 20_000_000}
HOUSEHOLDS = 600_000
TEAMS = 2_160
MEMBERS = 16_000
ATTENDANCES = 1_000_000
ENROLMENTS = 20_000
DAYS = 730  # two years of visits, ending on the end date
TRAINING_DAYS = 365  # a year of sessions and courses, ending on the end date
CHUNK = 100_000  # rows per COPY of the big tables
NULL = "\\N"  # COPY's text format

# Tết (lunar new year): almost nobody goes door to door in the days around it.
TET = {
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
}
WEEKDAY_WEIGHT = (1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.35)
# March: youth month; July: the volunteer summer; October: national DX day (10/10).
MONTH_WEIGHT = {3: 1.4, 7: 1.3, 8: 1.1, 10: 1.6, 12: 1.1}
OUTCOMES = (("helped", 70), ("informed", 20), ("not_home", 7), ("declined", 3))
SERVICE_WEIGHT = {
    "portal_account": 3.0,
    "online_application": 2.5,
    "online_payment": 1.5,
    "result_lookup": 1.0,
    "ecommerce": 1.0,
    "mobile_banking": 2.5,
    "digital_address": 1.0,
    "telemedicine": 1.0,
    "cyber_safety": 2.0,
    "other": 0.5,
}
# Share of visits that fill in the readiness checklist: most first visits, few returns.
READINESS_FIRST, READINESS_RETURN = 0.6, 0.25
# Yes rates at the start of the two years; they grow by READINESS_GROWTH by the end.
READINESS_YES = (0.75, 0.45, 0.25, 0.40, 0.30, 0.10, 0.10, 0.35)
READINESS_GROWTH = 0.25
READINESS_ERAS = 8
MEMBERS_PER_VISIT = (1, 2, 2, 3)

# The columns each COPY writes, in the order the rows give them.
# fmt: off
VISIT_COLUMNS = (
    "id", "team_id", "household_id", "visited_on", "residents_helped", "outcome", "notes",
    "submission_id", "submission_digest", "created_at", "updated_at", "is_demo",
    *READINESS_FIELDS,
    # The write-time facts, as the visit services would have recorded them.
    "commune_id", "hamlet_id", "first_for_household", "first_for_team",
)
HOUSEHOLD_COLUMNS = (
    "id", "commune_id", "hamlet_id", "address_label", "address_folded", "address_key",
    "head_name", "phone",
    "created_at", "is_demo",
    *READINESS_FIELDS,
)
TEAM_COLUMNS = (
    "id", "name", "name_folded", "name_key", "commune_id", "hamlet_id", "formed_on", "is_demo",
)
MEMBER_COLUMNS = (
    "id", "team_id", "full_name", "full_name_folded", "gender", "birth_year", "phone", "role",
    "is_youth_union_member", "affiliation", "on_zalo_oa", "zalo_joined_on", "joined_on",
    "left_on", "is_active", "is_demo",
)
SESSION_COLUMNS = (
    "id", "title", "format", "audience", "level", "district_id", "commune_id", "organiser",
    "organiser_name", "starts_on", "ends_on", "status", "created_at", "updated_at", "is_demo",
)
ATTENDANCE_COLUMNS = (
    "session_id", "member_id", "full_name", "agency", "position", "phone", "person_key",
    "recorded_at", "is_demo",
)
HEADCOUNT_COLUMNS = (
    "session_id", "total", "women", "working_age", "priority_groups", "recorded_at",
)
ENROLMENT_COLUMNS = (
    "course", "full_name", "agency", "email", "phone", "person_key", "audience", "commune_id",
    "district_id", "enrolled_on", "completed_on", "score", "imported_at", "is_demo",
)
# fmt: on

# Every table the generator fills, children before parents: what --force empties.
# Users, communes, hamlets, the catalogues, targets and indicators are never touched.
DATA_MODELS = (
    MemberDay,
    ReadinessDay,
    ReadinessLevel,
    Visit.members.through,
    Visit.services.through,
    Visit,
    Household,
    Attendance,
    Headcount,
    TrainingSession.topics.through,
    TrainingSession,
    CourseEnrolment,
    Member,
    Team,
    *SUMMARY_MODELS,
    PendingRollup,
)


class LoadRefused(Exception):
    """The options or the database do not allow a load."""


@dataclass(frozen=True)
class LoadSpec:
    visits: int
    seed: int
    end: dt.date
    households: int = HOUSEHOLDS
    teams: int = TEAMS
    members: int = MEMBERS

    @property
    def attendances(self) -> int:
        """Named attendances: the province's million, fewer for small loads."""
        return min(ATTENDANCES, self.visits // 5)

    @property
    def enrolments(self) -> int:
        return min(ENROLMENTS, self.visits // 25)

    @property
    def start(self) -> dt.date:
        return self.end - dt.timedelta(days=DAYS - 1)

    def check(self) -> None:
        if self.visits < 0:
            raise LoadRefused("The number of visits cannot be negative.")
        if self.teams < 1 or self.households < 1:
            raise LoadRefused("A load needs at least one team and one household.")
        if self.members < self.teams:
            raise LoadRefused("Every team needs a leader: give at least as many members as teams.")


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # (phase, seconds, rows written in it)
    phases: list[tuple[str, float, int]] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    triggers_skipped: bool = False
    indexes_rebuilt: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def outreach_data_exists() -> bool:
    """Whether any table the generator fills already has rows."""
    return any(
        model.objects.exists()
        for model in (Team, Member, Household, Visit, TrainingSession, Attendance, CourseEnrolment)
    )


def load_tables_truncate() -> None:
    """Empty the outreach, trainings and dashboard data tables and the pending marks."""
    tables = ", ".join(model._meta.db_table for model in DATA_MODELS)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")


def load_generate(
    *,
    spec: LoadSpec,
    force: bool = False,
    keep_indexes: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> LoadReport:
    """Fill the database with a province-scale load; see the module docstring.

    Refuses when the tables already hold data, unless `force`. The tables are emptied
    (load_tables_truncate) in the load's transaction either way. Unless `keep_indexes`,
    the big tables' secondary indexes are dropped for the load and built again from their
    saved definitions at its end, in the same transaction. Analyses the tables afterwards.
    """
    spec.check()
    if connection.vendor != "postgresql":
        raise LoadRefused("generate_load needs PostgreSQL (COPY, sequences); this is SQLite.")
    started = time.monotonic()
    report = LoadReport()
    with transaction.atomic():
        if outreach_data_exists() and not force:
            raise LoadRefused(
                "The database already has teams, households, visits or trainings. "
                "Pass --force to empty those tables first."
            )
        report.triggers_skipped = _may_skip_triggers()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            if report.triggers_skipped:
                cursor.execute("SET LOCAL session_replication_role = replica")
        _Load(spec, report, progress, keep_indexes=keep_indexes).run()
        with connection.cursor() as cursor:
            if report.triggers_skipped:
                cursor.execute("SET LOCAL session_replication_role = origin")
            else:
                # The queued foreign-key checks run now rather than at commit, so that a
                # bad reference fails the load here (and inside a test's transaction).
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    phase = time.monotonic()
    # The units too: a query joining visits to a freshly loaded province would be planned
    # on empty statistics (an export of every visit then sorts them all per chunk).
    units = [model._meta.db_table for model in (Province, District, Commune, Hamlet)]
    with connection.cursor() as cursor:
        for table in [*report.rows, *units]:
            cursor.execute(f"ANALYZE {table}")
    report.phases.append(("analyze", time.monotonic() - phase, 0))
    report.seconds = time.monotonic() - started
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _may_skip_triggers() -> bool:
    """Only a superuser may set session_replication_role."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return bool(cursor.fetchone()[0])


# --- Indexes built after the load -------------------------------------------------------------

# The big tables: Postgres keeping their secondary indexes row by row takes most of the
# load's time (the visits have eight), and one sorted build per index at the end is
# several times faster. Primary keys stay: ids arrive in order, which costs little.
INDEXED_LATER = (
    Visit,
    Visit.members.through,
    Visit.services.through,
    Household,
    Attendance,
)
# Per index build (one at a time), the server's memory, not the generator's.
INDEX_MEMORY = "1GB"


def _indexes_drop(models) -> list[tuple[str, str]]:
    """Drop the tables' indexes but their primary keys; returns (name, statement to create
    it again), constraints (unique ones) as ALTER TABLE ... ADD CONSTRAINT."""
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, t.relname, c.conname,
                   pg_get_indexdef(i.indexrelid), pg_get_constraintdef(c.oid)
            FROM pg_index i
            JOIN pg_class t ON t.oid = i.indrelid
            LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = t.oid
            WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
              AND NOT i.indisprimary
            ORDER BY t.relname, 1
            """,
            [tables],
        )
        saved = []
        for index, table, constraint, index_sql, constraint_sql in cursor.fetchall():
            quote = connection.ops.quote_name
            if constraint:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(constraint)}")
                statement = (
                    f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} "
                    f"{constraint_sql}"
                )
                saved.append((constraint, statement))
            else:
                cursor.execute(f"DROP INDEX {index}")
                saved.append((index, index_sql))
    return saved


def _indexes_create(saved: list[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = %s", [INDEX_MEMORY])
        # Two cores: a build may use a second process for its scan and sort.
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 1")
        for _name, statement in saved:
            cursor.execute(statement)


# --- Streaming rows to Postgres --------------------------------------------------------------


class _CopyStream:
    """COPY chunks from a second thread: Postgres stores one chunk while the next is drawn.

    psycopg2 releases the GIL while it waits on the server, so the two overlap on two
    cores. The queue holds at most two chunks, which bounds the memory.
    """

    def __init__(self, report: LoadReport):
        connection.ensure_connection()
        self._raw = connection.connection
        self._report = report
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="generate-load-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        cursor = self._raw.cursor()
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    sql, data = item
                    cursor.copy_expert(sql, io.BytesIO(data), size=1 << 20)
            except BaseException as exc:  # handed to the main thread at its next call
                self._error = exc
            finally:
                self._queue.task_done()

    def copy(self, table: str, columns: tuple[str, ...], lines: list[str]) -> None:
        """Queue one chunk: `lines` are rows in COPY's text format, one per element."""
        self._raise()
        if not lines:
            return
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)"
        self._queue.put((sql, "".join(lines).encode()))
        self._report.rows[table] += len(lines)

    def flush(self) -> None:
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def _reserve_ids(model, count: int) -> int:
    """Take `count` consecutive ids from the model's sequence; returns the first."""
    if count == 0:
        return 0
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
            " nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [table, table, count],
        )
        return cursor.fetchone()[0] - count + 1


# --- Drawing ---------------------------------------------------------------------------------


def _apportion(total: int, weights: list[float], low: int = 0) -> list[int]:
    """Integers of at least `low`, in proportion to the weights, adding up to `total`
    (largest remainders, ties to the first: no randomness needed)."""
    if not weights:
        return []
    spare = total - low * len(weights)
    weight_sum = sum(weights) or 1.0
    quotas = [spare * w / weight_sum for w in weights]
    counts = [low + int(q) for q in quotas]
    short = total - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (int(quotas[i]) - quotas[i], i))
    for i in by_remainder[:short]:
        counts[i] += 1
    return counts


def _local_midnight_ms(day: dt.date) -> int:
    """Milliseconds since the epoch at midnight in Nam Định (UTC+7)."""
    return (day - dt.date(1970, 1, 1)).days * 86_400_000 - 7 * 3_600_000


TIMES = [f"{m // 60:02d}:{m % 60:02d}:00+07" for m in range(24 * 60)]


def _in_text(unit: Commune | District) -> str:
    """The unit's name as a sentence writes it: "xã Hải Đông"."""
    return unit.name[0].lower() + unit.name[1:]


class _Names:
    """Vietnamese full names and their folded form, from the demo's name lists."""

    def __init__(self):
        self.female = [
            f"{f} {m} {g}"
            for f in outreach_demo.FAMILY
            for m in outreach_demo.MIDDLE_F
            for g in outreach_demo.GIVEN_F
        ]
        self.male = [
            f"{f} {m} {g}"
            for f in outreach_demo.FAMILY
            for m in outreach_demo.MIDDLE_M
            for g in outreach_demo.GIVEN_M
        ]
        self.everyone = self.female + self.male
        self.folded = {name: fold(name) for name in self.everyone}

    def of(self, number: int) -> str:
        """The same name for the same person number, wherever they appear."""
        return self.everyone[(number * 2_654_435_761 >> 7) % len(self.everyone)]


@dataclass
class _Place:
    commune: Commune
    hamlets: list[Hamlet]
    households: int = 0  # generated households
    household_base: int = 0  # index of its first household in the load
    hamlet_sizes: list[int] = field(default_factory=list)
    team_base: int = 0  # index of its first team; its teams are in order of forming
    team_formed: list[int] = field(default_factory=list)  # day index each formed on


class _Load:
    def __init__(
        self,
        spec: LoadSpec,
        report: LoadReport,
        progress: Callable[[str], None],
        *,
        keep_indexes: bool = False,
    ):
        self.keep_indexes = keep_indexes
        self.spec = spec
        self.report = report
        self.progress = progress
        self.rng = random.Random(f"generate_load:{spec.seed}")
        self.names = _Names()
        self.start = spec.start

    # One phase at a time; each ends with the stream flushed so its time is its own.
    def run(self) -> None:
        phase = time.monotonic()
        self.places = self._places()
        self.districts = list(District.objects.order_by("code"))
        self.services = dict(
            Service.objects.filter(is_active=True).values_list("code", "pk").order_by("sort_order")
        )
        self.topics = dict(Topic.objects.values_list("code", "pk"))
        self._plan_households()
        self._plan_teams()
        # Empty (or already empty) tables, truncated in this transaction: COPY may then
        # freeze the rows and mark their pages all-visible, so the load reads like a
        # vacuumed table from the start. Sequences restart, so a seed gives the same ids.
        load_tables_truncate()
        self.team_first = _reserve_ids(Team, self.team_count)
        self.member_first = _reserve_ids(Member, self.spec.members)
        self.household_first = _reserve_ids(Household, self.spec.households)
        self.visit_first = _reserve_ids(Visit, self.spec.visits)
        saved = [] if self.keep_indexes else _indexes_drop(INDEXED_LATER)
        self._phase("places and plans", phase)
        self.stream = _CopyStream(self.report)
        try:
            phase = time.monotonic()
            self._teams_and_members()
            self.stream.flush()
            self._phase("teams and members", phase)
            phase = time.monotonic()
            self._visits()
            self.stream.flush()
            self._readiness_levels()
            self._phase("visits, their members and services", phase)
            phase = time.monotonic()
            self._households()
            self.stream.flush()
            self._phase("households", phase)
            phase = time.monotonic()
            self._trainings()
            self.stream.flush()
            self._phase("trainings", phase)
        finally:
            self.stream.close()
        if saved:
            phase = time.monotonic()
            if not self.report.triggers_skipped:
                # A table with foreign-key checks still queued cannot be altered.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            _indexes_create(saved)
            self.report.indexes_rebuilt = len(saved)
            self._phase("indexes", phase)
        if self.report.triggers_skipped:
            phase = time.monotonic()
            self._check_references()
            self._phase("reference checks", phase)

    def _phase(self, name: str, started: float) -> None:
        seconds = time.monotonic() - started
        rows = self.report.total_rows - sum(r for _n, _s, r in self.report.phases)
        self.report.phases.append((name, seconds, rows))
        self.progress(f"{name}: {rows:,} rows in {seconds:.1f} s")

    def _chunk_done(self, what: str, done: int, total: int, started: float) -> None:
        rate = done / max(time.monotonic() - started, 1e-9)
        self.progress(f"  {what}: {done:,} / {total:,} ({rate:,.0f} rows/s)")

    # --- Communes, hamlets, households ------------------------------------------------------

    def _places(self) -> list[_Place]:
        if not Commune.objects.exists():
            divisions_load()
        rng = random.Random(f"generate_load:{self.spec.seed}:hamlets")
        hamlets: dict[int, list[Hamlet]] = defaultdict(list)
        for hamlet in Hamlet.objects.order_by("commune_id", "pk"):
            hamlets[hamlet.commune_id].append(hamlet)
        new = []
        for commune in Commune.objects.order_by("code"):
            count = rng.randint(4, 8)
            if any(h.is_active for h in hamlets[commune.pk]):
                continue
            taken = {h.name_key for h in hamlets[commune.pk]}
            prefix = communes_demo.HAMLET_PREFIX[commune.kind]
            n = 0
            while count:
                n += 1
                name = f"{prefix} {n}"
                if name_key(name) in taken:
                    continue
                # bulk_create does not call save(), which derives the folded name.
                hamlet = Hamlet(commune=commune, name=name, is_demo=True)
                hamlet.derive()
                new.append(hamlet)
                count -= 1
        Hamlet.objects.bulk_create(new)
        # Demo figures where a commune has none; every commune has hamlets by now.
        communes_demo.seed_demo(seed=self.spec.seed)
        active: dict[int, list[Hamlet]] = defaultdict(list)
        for hamlet in Hamlet.objects.filter(is_active=True).order_by("commune_id", "pk"):
            active[hamlet.commune_id].append(hamlet)
        communes = Commune.objects.select_related("district").order_by("code")
        return [_Place(commune=c, hamlets=active[c.pk]) for c in communes]

    def _plan_households(self) -> None:
        rng, places = self.rng, self.places
        low = 1 if self.spec.households >= len(places) else 0
        counts = _apportion(
            self.spec.households, [p.commune.households or 1 for p in places], low=low
        )
        base = 0
        for place, count in zip(places, counts, strict=True):
            place.households, place.household_base = count, base
            weights = [rng.uniform(0.6, 1.4) for _h in place.hamlets]
            place.hamlet_sizes = _apportion(count, weights)
            base += count

    # --- Teams and members -------------------------------------------------------------------

    def _plan_teams(self) -> None:
        rng, places, spec = self.rng, self.places, self.spec
        weights = [p.commune.households or 1 for p in places]
        if spec.teams >= len(places):
            counts = _apportion(spec.teams, weights, low=min(spec.teams // len(places), 6))
        else:  # a small load: one team in each of the biggest communes
            biggest = set(sorted(range(len(places)), key=lambda i: (-weights[i], i))[: spec.teams])
            counts = [1 if i in biggest else 0 for i in range(len(places))]
        base = 0
        for place, count in zip(places, counts, strict=True):
            formed = []
            for n in range(count):
                if n == 0 or rng.random() < 0.8:
                    formed.append(-rng.randint(30, 600))  # before the two years began
                else:
                    formed.append(rng.randint(0, 540))
            place.team_formed = sorted(formed)
            place.team_base = base
            base += count
        self.team_count = base

    def _teams_and_members(self) -> None:
        rng, spec, start = self.rng, self.spec, self.start

        def day(index: int) -> dt.date:
            return start + dt.timedelta(days=index)

        team_lines, team_names = [], []
        for place in self.places:
            commune, hamlets = place.commune, place.hamlets
            for n, formed in enumerate(place.team_formed, start=1):
                hamlet = hamlets[(n - 1) % len(hamlets)] if hamlets else None
                name = f"Tổ CNS {hamlet.name}" if hamlet and n <= len(hamlets) else f"Tổ CNS số {n}"
                team_names.append(name)
                team_lines.append(
                    f"{self.team_first + len(team_lines)}\t{name}\t{fold(name)}\t{name_key(name)}\t"
                    f"{commune.pk}\t"
                    f"{hamlet.pk if hamlet else NULL}\t{day(formed)}\tt\n"
                )
        self.stream.copy(Team._meta.db_table, TEAM_COLUMNS, team_lines)

        formed_of = [f for place in self.places for f in place.team_formed]
        district_of = [
            place.commune.district_id for place in self.places for _f in place.team_formed
        ]
        sizes = _apportion(
            spec.members,
            [rng.uniform(0.7, 1.3) for _t in formed_of],
            low=min(4, spec.members // self.team_count),
        )
        zalo = set(rng.sample(range(spec.members), round(spec.members * outreach_demo.ZALO_SHARE)))
        end_index = DAYS - 1
        lines = []
        # Who goes on visits (founding members who stay), and who trainings can list.
        self.visiting: list[list[int]] = []
        self.district_members: dict[int, list[tuple]] = defaultdict(list)
        roles, affiliations = Member.Role, Member.Affiliation.values
        for team, (formed, size) in enumerate(zip(formed_of, sizes, strict=True)):
            visiting = []
            for j in range(size):
                index = len(lines)
                member_id = self.member_first + index
                role = (
                    roles.LEADER
                    if j == 0
                    else roles.DEPUTY
                    if j == 1 and size > 2
                    else roles.MEMBER
                )
                gender = "female" if rng.random() < 0.5 else "male"
                full_name = rng.choice(self.names.female if gender == "female" else self.names.male)
                joined = (
                    formed
                    if j == 0 or rng.random() < 0.88
                    else min(formed + rng.randint(30, 400), end_index)
                )
                left = None
                if j > 0 and rng.random() < 0.06:
                    left = joined + rng.randint(60, 500)
                    left = left if left <= end_index else None
                phone = f"09{10_000_000 + index:08d}" if j == 0 or rng.random() < 0.96 else ""
                zalo_on = NULL
                if index in zalo and rng.random() < 0.85:
                    zalo_day = min(
                        joined + rng.randint(0, 200), end_index if left is None else left
                    )
                    zalo_on = day(zalo_day)
                lines.append(
                    f"{member_id}\t{self.team_first + team}\t{full_name}\t"
                    f"{self.names.folded[full_name]}\t{gender}\t{rng.randint(1975, 2006)}\t"
                    f"{phone}\t{role}\t{'t' if rng.random() < 0.7 else 'f'}\t"
                    f"{rng.choice(affiliations)}\t{'t' if index in zalo else 'f'}\t{zalo_on}\t"
                    f"{day(joined)}\t{day(left) if left is not None else NULL}\t"
                    f"{'t' if left is None else 'f'}\tt\n"
                )
                if left is None:
                    if joined == formed:
                        visiting.append(member_id)
                    self.district_members[district_of[team]].append(
                        (member_id, full_name, team_names[team], phone)
                    )
            self.visiting.append(visiting)
        self.stream.copy(Member._meta.db_table, MEMBER_COLUMNS, lines)

    # --- Visits ------------------------------------------------------------------------------

    def _readiness_pools(self) -> list[list[tuple[str, int, int]]]:
        """Per era, answer patterns (COPY text, bits to keep, bits to set): drawn once,
        so a visit's answers take one draw. An item's answer takes two bits of a
        household's state: 0 not known, 1 no, 2 yes."""
        rng, pools = self.rng, []
        for era in range(READINESS_ERAS):
            growth = READINESS_GROWTH * era / (READINESS_ERAS - 1)
            pool = []
            for _n in range(256):
                texts, keep, bits = [], 0xFFFF, 0
                for item, yes in enumerate(READINESS_YES):
                    draw = rng.random()
                    if draw < 0.12:
                        texts.append("\\N")
                        continue
                    answer = 2 if rng.random() < min(0.95, yes + growth) else 1
                    texts.append("t" if answer == 2 else "f")
                    keep &= ~(3 << 2 * item)
                    bits |= answer << 2 * item
                pool.append(("\t".join(texts), keep, bits))
            pools.append(pool)
        return pools

    def _bodies(self) -> list[tuple[str, tuple[int, ...], bool]]:
        """Visit contents (COPY text of residents helped and outcome; services; whether
        the readiness checklist may be answered), drawn once, as OUTCOME_RULES allow."""
        rng = self.rng
        codes = list(self.services)
        weights = [SERVICE_WEIGHT.get(code, 1.0) for code in codes]
        outcomes, outcome_weights = zip(*OUTCOMES, strict=True)
        bodies = []
        for _n in range(4096):
            outcome = rng.choices(outcomes, outcome_weights)[0]
            if outcome == "helped":
                residents = rng.choices((1, 2, 3, 4, 5), (35, 30, 18, 10, 7))[0]
                wanted = rng.choices((1, 2, 3), (45, 35, 15))[0]
            elif outcome == "informed":
                residents, wanted = rng.randint(0, 2), rng.choices((0, 1), (60, 40))[0]
            else:
                residents, wanted = 0, 0
            chosen: list[int] = []
            while codes and len(chosen) < min(wanted, len(codes)):
                pk = self.services[rng.choices(codes, weights)[0]]
                if pk not in chosen:
                    chosen.append(pk)
            answerable = OUTCOME_RULES[outcome].answered
            bodies.append((f"{residents}\t{outcome}", tuple(chosen), answerable))
        return bodies

    def _day_counts(self) -> list[int]:
        rng, weights = self.rng, []
        for index in range(DAYS):
            day = self.start + dt.timedelta(days=index)
            weight = WEEKDAY_WEIGHT[day.weekday()] * MONTH_WEIGHT.get(day.month, 1.0)
            tet = TET.get(day.year)
            if tet and -3 <= (day - tet).days <= 6:
                weight *= 0.1
            weight *= 0.75 + 0.5 * index / (DAYS - 1)  # the campaign ramps up
            weights.append(weight * rng.uniform(0.85, 1.15))
        return _apportion(self.spec.visits, weights)

    def _visits(self) -> None:
        spec, rng = self.spec, self.rng
        places = [p for p in self.places if p.households and p.team_formed]
        if spec.visits and not places:
            raise LoadRefused("No commune has both teams and households to visit.")
        busy = [rng.lognormvariate(0, 0.45) for _p in places]
        weights = [p.households * b for p, b in zip(places, busy, strict=True)]
        cum_weights, total = [], 0.0
        for w in weights:
            total += w
            cum_weights.append(total)
        # Door to door: a commune's round visits its households in a fixed shuffled order
        # (a stride coprime with the count); busy communes get round further.
        mean_rate = spec.visits / max(1, sum(p.households for p in places))
        coverage = min(0.9, 0.6 * mean_rate)
        p_first, stride, offset = [], [], []
        for place, weight in zip(places, weights, strict=True):
            expected = spec.visits * weight / total
            rate = expected / place.households
            reached = min(0.97, coverage * rate / mean_rate) * place.households if rate else 0
            p_first.append(min(1.0, reached / expected) if expected else 1.0)
            n = place.households
            s = max(1, int(n * 0.618034))
            while math.gcd(s, n) != 1:
                s += 1
            stride.append(s)
            offset.append(rng.randrange(n))
        frontier = [0] * len(places)
        sizes = [p.households for p in places]
        bases = [p.household_base for p in places]
        team_bases = [p.team_base for p in places]
        formed = [p.team_formed for p in places]
        visiting = self.visiting
        communes = [p.commune.pk for p in places]
        # Per household: its hamlet, and the teams (bits by their place in the commune's
        # teams) that have visited it, for the visits' write-time facts.
        hamlet_of = array("q")
        for place in self.places:
            for hamlet, count in zip(place.hamlets, place.hamlet_sizes, strict=True):
                hamlet_of.extend([hamlet.pk] * count)
        teams_seen = [0] * spec.households
        # Per household: its checklist state and the day of its first visit.
        self.state = array("H", bytes(2 * spec.households))
        self.first_day = array("h", [-1]) * spec.households
        state, first_day = self.state, self.first_day
        pools = self._readiness_pools()
        bodies = self._bodies()
        counts = self._day_counts()
        no_answers = "\t".join([NULL] * len(READINESS_FIELDS))
        slots = range(len(places))
        rnd, bits = rng.random, rng.getrandbits
        household_first, team_first = self.household_first, self.team_first
        vid = self.visit_first
        visit_lines, member_lines, service_lines = [], [], []
        fact_lines: dict[str, list[str]] = {"members": [], "readiness": []}
        changes = _ReadinessChanges()
        started, done = time.monotonic(), 0
        for index, n in enumerate(counts):
            if not n:
                continue
            day = self.start + dt.timedelta(days=index)
            day_text = day.isoformat()
            out: set[tuple[int, int]] = set()  # (member, commune) out on the day
            ready: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
            midnight = _local_midnight_ms(day)
            pool = pools[index * READINESS_ERAS // DAYS]
            picks = rng.choices(slots, cum_weights=cum_weights, k=n)
            for seq, c in enumerate(picks):
                size, reach = sizes[c], frontier[c]
                if reach < size and (reach == 0 or rnd() < p_first[c]):
                    position, frontier[c] = reach, reach + 1
                    first = True
                else:
                    position, first = int(rnd() * reach), False
                h = bases[c] + (position * stride[c] + offset[c]) % size
                if first:
                    first_day[h] = index
                nth = int(rnd() * bisect_right(formed[c], index))
                team = team_bases[c] + nth
                team_new = not (teams_seen[h] >> nth) & 1
                teams_seen[h] |= 1 << nth
                body, services, answerable = bodies[bits(12)]
                if answerable and rnd() < (READINESS_FIRST if first else READINESS_RETURN):
                    answers, keep, set_bits = pool[bits(8)]
                    was, state[h] = state[h], (state[h] & keep) | set_bits
                    # A day's change of a household's answers is the sum of its visits'.
                    for item, yes, answered in changes.of(was, state[h]):
                        sums = ready[(communes[c], item)]
                        sums[0] += yes
                        sums[1] += answered
                else:
                    answers = no_answers
                minute = 450 + seq * 630 // n  # 07:30 to 18:00, in order of entry
                at = f"{day_text} {TIMES[minute]}"
                uid = (
                    f"{midnight + minute * 60_000 + seq:012x}7{bits(12):03x}"
                    f"{bits(62) | 0x8000000000000000:016x}"
                )
                visit_lines.append(
                    f"{vid}\t{team_first + team}\t{household_first + h}\t{day_text}\t{body}\t\t"
                    f"{uid}\t\t{at}\t{at}\tt\t{answers}\t{communes[c]}\t{hamlet_of[h]}\t"
                    f"{'t' if first else 'f'}\t{'t' if team_new else 'f'}\n"
                )
                people = visiting[team]
                k = min(MEMBERS_PER_VISIT[bits(2)], len(people))
                o = int(rnd() * len(people))
                for i in range(k):
                    member = people[(o + i) % len(people)]
                    member_lines.append(f"{vid}\t{member}\n")
                    out.add((member, communes[c]))
                for service in services:
                    service_lines.append(f"{vid}\t{service}\n")
                vid += 1
            fact_lines["members"].extend(
                f"{member}\t{commune}\t{day_text}\n" for member, commune in sorted(out)
            )
            fact_lines["readiness"].extend(
                f"{commune}\t{day_text}\t{READINESS_FIELDS[item]}\t{yes}\t{answered}\n"
                for (commune, item), (yes, answered) in sorted(ready.items())
                if yes or answered
            )
            if len(visit_lines) >= CHUNK:
                done += len(visit_lines)
                self._visits_copy(visit_lines, member_lines, service_lines, fact_lines)
                visit_lines, member_lines, service_lines = [], [], []
                fact_lines = {"members": [], "readiness": []}
                self._chunk_done("visits", done, spec.visits, started)
        self._visits_copy(visit_lines, member_lines, service_lines, fact_lines)

    def _readiness_levels(self) -> None:
        """The communes' readiness levels, the sums of the readiness days just copied
        (the visit services keep both as they write)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ReadinessLevel._meta.db_table} "  # noqa: S608 - names from the models
                f"(commune_id, item, yes, answered) "
                f"SELECT commune_id, item, SUM(yes), SUM(answered) "
                f"FROM {ReadinessDay._meta.db_table} GROUP BY commune_id, item"
            )
            self.report.rows[ReadinessLevel._meta.db_table] += cursor.rowcount

    def _visits_copy(self, visits, members, services, facts) -> None:
        stream = self.stream
        stream.copy(Visit._meta.db_table, VISIT_COLUMNS, visits)
        stream.copy(Visit.members.through._meta.db_table, ("visit_id", "member_id"), members)
        stream.copy(Visit.services.through._meta.db_table, ("visit_id", "service_id"), services)
        stream.copy(MemberDay._meta.db_table, ("member_id", "commune_id", "day"), facts["members"])
        stream.copy(
            ReadinessDay._meta.db_table,
            ("commune_id", "day", "item", "yes", "answered"),
            facts["readiness"],
        )

    def _households(self) -> None:
        """Written after the visits: their checklists are the visits' latest answers."""
        rng, state, first_day = self.rng, self.state, self.first_day
        decoded: dict[int, str] = {}

        def answers(code: int) -> str:
            text = decoded.get(code)
            if text is None:
                text = "\t".join(
                    ("\\N", "f", "t")[(code >> 2 * item) & 3]
                    for item in range(len(READINESS_FIELDS))
                )
                decoded[code] = text
            return text

        created = {-1: f"{self.start - dt.timedelta(days=1)} 07:00:00+07"}
        names = self.names.everyone
        table = Household._meta.db_table
        lines, h, started = [], 0, time.monotonic()
        for place in self.places:
            commune_id = place.commune.pk
            street = "ngõ" if place.commune.kind != Commune.Kind.RURAL_COMMUNE else "xóm"
            street_folded = fold(street)
            for hamlet, count in zip(place.hamlets, place.hamlet_sizes, strict=True):
                hamlet_id = hamlet.pk
                for k in range(count):
                    alley, number = k // 30 + 1, k % 30 + 1
                    day = first_day[h]
                    at = created.get(day)
                    if at is None:
                        at = created[day] = f"{self.start + dt.timedelta(days=day)} 07:00:00+07"
                    phone = f"03{rng.getrandbits(26):08d}" if rng.random() < 0.6 else ""
                    lines.append(
                        f"{self.household_first + h}\t{commune_id}\t{hamlet_id}\t"
                        f"Số {number}, {street} {alley}\tso {number} {street_folded} {alley}\t"
                        f"số {number} {street} {alley}\t"
                        f"{names[rng.getrandbits(16) % len(names)]}\t{phone}\t{at}\tt\t"
                        f"{answers(state[h])}\n"
                    )
                    h += 1
                    if len(lines) >= CHUNK:
                        self.stream.copy(table, HOUSEHOLD_COLUMNS, lines)
                        lines = []
                        self._chunk_done("households", h, self.spec.households, started)
        self.stream.copy(table, HOUSEHOLD_COLUMNS, lines)

    # --- Trainings ---------------------------------------------------------------------------

    def _trainings(self) -> None:
        _Trainings(self).run()

    def _check_references(self) -> None:
        """With the foreign-key triggers skipped, prove every generated reference points
        at a generated row: each parent's ids are one contiguous block, so the min and max
        of each referencing column must fall inside it."""
        blocks = {
            Team: (self.team_first, self.team_count),
            Member: (self.member_first, self.spec.members),
            Household: (self.household_first, self.spec.households),
            Visit: (self.visit_first, self.spec.visits),
            TrainingSession: (self.session_first, self.session_count),
        }
        references = [
            (Member, "team_id", Team),
            (Visit, "team_id", Team),
            (Visit, "household_id", Household),
            (Visit.members.through, "visit_id", Visit),
            (Visit.members.through, "member_id", Member),
            (Visit.services.through, "visit_id", Visit),
            (Attendance, "session_id", TrainingSession),
            (Attendance, "member_id", Member),
            (Headcount, "session_id", TrainingSession),
            (TrainingSession.topics.through, "trainingsession_id", TrainingSession),
        ]
        with connection.cursor() as cursor:
            for model, (first, count) in blocks.items():
                cursor.execute(
                    f"SELECT count(*) FROM {model._meta.db_table} WHERE id BETWEEN %s AND %s",
                    [first, first + count - 1],
                )
                if cursor.fetchone()[0] != count:
                    raise RuntimeError(
                        f"{model._meta.db_table}: the reserved ids were not all used"
                    )
            for model, column, parent in references:
                cursor.execute(f"SELECT min({column}), max({column}) FROM {model._meta.db_table}")
                low, high = cursor.fetchone()
                first, count = blocks[parent]
                if low is not None and not (first <= low and high <= first + count - 1):
                    raise RuntimeError(f"{model._meta.db_table}.{column} points outside its parent")


class _ReadinessChanges:
    """What a household's checklist state changing from one code to another (two bits
    an item: 0 not known, 1 no, 2 yes) does to its commune's readiness: per item that
    changed, (item, change in yes, change in answered). Worked out once per pair."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, int], tuple[tuple[int, int, int], ...]] = {}

    def of(self, was: int, now: int) -> tuple[tuple[int, int, int], ...]:
        if was == now:
            return ()
        found = self.known.get((was, now))
        if found is None:
            found = []
            for item in range(len(READINESS_FIELDS)):
                before, after = (was >> 2 * item) & 3, (now >> 2 * item) & 3
                if before != after:
                    found.append((item, (after == 2) - (before == 2), (after != 0) - (before != 0)))
            found = self.known[(was, now)] = tuple(found)
        return found


class _Trainings:
    """A year of sessions with exactly spec.attendances named attendances, and the
    online-course records."""

    # (kind, weight): what a session is; see _session.
    KINDS = (
        ("residents", 55),
        ("coaching", 20),
        ("team_members", 15),
        ("enterprises", 6),
        ("conference", 4),
    )

    def __init__(self, load: _Load):
        self.load = load
        self.rng = load.rng
        self.spec = load.spec
        self.start = load.spec.end - dt.timedelta(days=TRAINING_DAYS - 1)
        places = load.places
        self.commune_weights = [p.households or 1 for p in places]
        self.priority_weights = [
            w
            * (
                1.6
                if p.commune.new_rural_status
                in (Commune.NewRuralStatus.ADVANCED, Commune.NewRuralStatus.MODEL)
                else 1.0
            )
            for w, p in zip(self.commune_weights, places, strict=True)
        ]
        by_district: dict[int, int] = defaultdict(int)
        for place, weight in zip(places, self.commune_weights, strict=True):
            by_district[place.commune.district_id] += weight
        self.district_weights = [by_district[d.pk] or 1 for d in load.districts]
        total = sum(self.commune_weights)
        # Residents a commune's trainings draw from: about one session each on average.
        self.resident_pool = [
            max(60, min(99_999, round(self.spec.attendances * 0.5 * w / total)))
            for w in self.commune_weights
        ]

    def run(self) -> None:
        load = self.load
        budget = self.spec.attendances
        # Sessions are planned with who may come and how many; the people themselves are
        # drawn as they are written, from a seed of the session's own, so a million
        # attendances never sit in memory at once.
        sessions = []
        while budget > 0:
            session = self._session()
            if session["status"] == TrainingSession.Status.HELD:
                session["count"] = min(session["count"], budget)
                budget -= session["count"]
            sessions.append(session)
        load.session_count = len(sessions)
        load.session_first = _reserve_ids(TrainingSession, len(sessions))
        stream, rng = load.stream, self.rng
        session_lines, topic_lines, headcount_lines, attendance_lines = [], [], [], []
        attendance_table = Attendance._meta.db_table
        started, done = time.monotonic(), 0
        for n, s in enumerate(sessions):
            sid = load.session_first + n
            starts = s["starts_on"]
            ends = min(self.spec.end, starts + dt.timedelta(days=s["days"]))
            created = f"{starts - dt.timedelta(days=7)} 08:00:00+07"
            session_lines.append(
                f"{sid}\t{s['title']}\t{s['format']}\t{s['audience']}\t{s['level']}\t"
                f"{s.get('district_id', NULL)}\t{s.get('commune_id', NULL)}\t"
                f"{s['organiser']}\t{s['organiser_name']}\t{starts}\t{ends}\t{s['status']}\t"
                f"{created}\t{created}\tt\n"
            )
            for code in dict.fromkeys(s["topics"]):
                if code in load.topics:
                    topic_lines.append(f"{sid}\t{load.topics[code]}\n")
            recorded = f"{starts} 17:00:00+07"
            held = s["status"] == TrainingSession.Status.HELD
            people = self._people(s["people"], s["count"], s["seed"]) if held else []
            if s["headcount"] and held:
                total = len(people) + rng.randint(*s["headcount"])
                headcount_lines.append(
                    f"{sid}\t{total}\t{round(total * rng.uniform(0.45, 0.65))}\t"
                    f"{round(total * rng.uniform(0.5, 0.8))}\t"
                    f"{round(total * rng.uniform(0.2, 0.5))}\t{recorded}\n"
                )
            for member_id, full_name, agency, position, phone, key in people:
                attendance_lines.append(
                    f"{sid}\t{member_id or NULL}\t{full_name}\t{agency}\t{position}\t{phone}\t"
                    f"{key}\t{recorded}\tt\n"
                )
            if len(attendance_lines) >= CHUNK:
                done += len(attendance_lines)
                stream.copy(attendance_table, ATTENDANCE_COLUMNS, attendance_lines)
                attendance_lines = []
                load._chunk_done("attendances", done, self.spec.attendances, started)
        stream.copy(attendance_table, ATTENDANCE_COLUMNS, attendance_lines)
        stream.copy(TrainingSession._meta.db_table, SESSION_COLUMNS, session_lines)
        stream.copy(
            TrainingSession.topics.through._meta.db_table,
            ("trainingsession_id", "topic_id"),
            topic_lines,
        )
        stream.copy(Headcount._meta.db_table, HEADCOUNT_COLUMNS, headcount_lines)
        stream.copy(CourseEnrolment._meta.db_table, ENROLMENT_COLUMNS, self._enrolments())

    def _day(self) -> dt.date:
        day = self.start + dt.timedelta(days=self.rng.randrange(TRAINING_DAYS))
        if day.weekday() == 6 and self.rng.random() < 0.8:  # few sessions on Sundays
            day -= dt.timedelta(days=1)
        return max(day, self.start)

    def _session(self) -> dict:
        rng, load = self.rng, self.load
        kind = rng.choices([k for k, _w in self.KINDS], [w for _k, w in self.KINDS])[0]
        organiser, organiser_name = trainings_demo.ORGANISERS[0]
        session = {
            "starts_on": self._day(),
            "days": 0,
            "status": TrainingSession.Status.HELD,
            "organiser": organiser,
            "organiser_name": organiser_name,
            "headcount": None,
            "seed": rng.getrandbits(32),
        }
        Format = TrainingSession.Format
        if kind == "team_members":
            d = rng.choices(range(len(load.districts)), self.district_weights)[0]
            district = load.districts[d]
            pool = load.district_members.get(district.pk)
            if pool:
                session.update(
                    title=f"Tập huấn nghiệp vụ cho tổ công nghệ số cộng đồng {_in_text(district)}",
                    format=Format.COMMUNITY_TRAINING,
                    audience=Audience.TEAM_MEMBERS,
                    level=Level.DISTRICT,
                    district_id=district.pk,
                    topics=["public_service_portal", "digital_address", "information_security"],
                    people=("members", district.pk),
                    count=min(len(pool), rng.randint(25, 70)),
                )
                return session
            kind = "residents"  # no members in this district (a small load)
        if kind == "enterprises":
            d = rng.choices(range(len(load.districts)), self.district_weights)[0]
            district = load.districts[d]
            where = _in_text(district)
            agency = f"Hợp tác xã, doanh nghiệp {where}"
            session.update(
                title=f"Đưa doanh nghiệp, hợp tác xã {where} lên sàn thương mại điện tử",
                format=Format.COMMUNITY_TRAINING,
                audience=rng.choice([Audience.ENTERPRISES, Audience.COOPERATIVES]),
                level=Level.DISTRICT,
                district_id=district.pk,
                topics=["ecommerce", "mobile_banking"],
                headcount=(10, 60),
                people=("pool", f"0912{d:02d}", 10_000, agency, False),
                count=rng.randint(15, 40),
            )
            return session
        if kind == "conference":
            if rng.random() < 0.5:
                topic, title = rng.choice(trainings_demo.THEMATIC)
                fmt, audience, prefix = Format.THEMATIC_CONFERENCE, Audience.KEY_OFFICIALS, "0983"
                topics, pool = [topic], 1_000
            else:
                topic, sector = rng.choice(list(trainings_demo.SECTORS.items()))
                title = f"Hội nghị chuyển đổi số {sector}"
                fmt, audience, prefix = Format.SECTOR_CONFERENCE, Audience.CIVIL_SERVANTS, "0984"
                topics, pool = [topic, "information_security"], 100_000
            department = rng.choice(trainings_demo.DEPARTMENTS)
            session.update(
                title=title,
                format=fmt,
                audience=audience,
                level=Level.PROVINCE,
                days=rng.choice([0, 0, 1]),
                topics=topics,
                headcount=(40, 150),
                people=("pool", prefix, pool, f"{department} tỉnh Nam Định", False),
                count=rng.randint(40, 120),
            )
            return session
        c = rng.choices(range(len(load.places)), self.priority_weights)[0]
        commune = load.places[c].commune
        where = _in_text(commune)
        curriculum = trainings_demo.CURRICULUM
        if kind == "coaching":
            session.update(
                title=f"Cầm tay chỉ việc: kỹ năng số cho cán bộ {where}",
                format=Format.COACHING,
                audience=Audience.COMMUNE_OFFICIALS,
                level=Level.COMMUNE,
                commune_id=commune.pk,
                topics=["public_service_portal", *rng.sample(curriculum[1:], 2)],
                people=("pool", f"0986{c:03d}", 15, f"UBND {where}", True),
                count=rng.randint(5, 12),
            )
            return session
        organiser, organiser_name = rng.choice(trainings_demo.ORGANISERS)
        session.update(
            title=f"Tập huấn kỹ năng số cho người dân {where}",
            format=Format.COMMUNITY_TRAINING,
            audience=Audience.RESIDENTS,
            level=Level.COMMUNE,
            commune_id=commune.pk,
            organiser=organiser,
            organiser_name=organiser_name,
            topics=rng.sample(curriculum, rng.randint(2, 3)),
            headcount=(10, 80),
            people=("pool", f"03{c:03d}", self.resident_pool[c], "", False),
            count=min(rng.randint(20, 60), self.resident_pool[c]),
        )
        if rng.random() < 0.03:
            session["status"] = TrainingSession.Status.CANCELLED
        return session

    def _people(self, recipe: tuple, count: int, seed: int) -> list[tuple]:
        """`count` different people who may come: team members of a district, or people
        of a pool, whose phone (the prefix and their number in the pool) and name are the
        same at every session they attend."""
        rng = random.Random(seed)
        if recipe[0] == "members":
            chosen = rng.sample(self.load.district_members[recipe[1]], count)
            return [
                (m, name, team, "", phone, person_key(phone=phone, member_id=m))
                for m, name, team, phone in chosen
            ]
        _kind, prefix, pool, agency, official = recipe
        digits = 10 - len(prefix)
        positions = trainings_demo.COMMUNE_POSITIONS
        people = []
        for number in rng.sample(range(pool), count):
            phone = f"{prefix}{number:0{digits}d}"
            position = ""
            if official:
                position = "Chủ tịch UBND" if number == 0 else positions[number % len(positions)]
            people.append(
                (None, self.load.names.of(int(phone)), agency, position, phone, f"p:{phone}")
            )
        return people

    def _enrolments(self) -> list[str]:
        rng, load = self.rng, self.load
        agencies = []
        for place in load.places:
            where = _in_text(place.commune)
            for agency, audience in trainings_demo.COMMUNE_AGENCIES:
                agencies.append((agency.format(where), audience, place.commune.pk, None))
        for district in load.districts:
            for agency in trainings_demo.DISTRICT_AGENCIES:
                agencies.append(
                    (agency.format(_in_text(district)), Audience.CIVIL_SERVANTS, None, district.pk)
                )
        for department in trainings_demo.DEPARTMENTS:
            agencies.append((f"{department} tỉnh Nam Định", Audience.CIVIL_SERVANTS, None, None))
        last_enrolment = max(TRAINING_DAYS - 31, 0)
        imported = f"{self.spec.end} 12:00:00+07"
        lines, taken, learner = [], set(), 0
        while len(lines) < self.spec.enrolments:
            learner += 1
            agency, audience, commune_id, district_id = rng.choice(agencies)
            full_name = load.names.of(learner * 7 + 3)
            phone = email = ""
            draw = rng.random()
            if draw < 0.72:
                phone = f"0387{learner:06d}"
            elif draw < 0.9:
                email = f"hocvien{learner:05d}@namdinh.gov.vn"
            key = person_key(phone=phone, email=email, full_name=full_name, agency=agency)
            courses = rng.sample(trainings_demo.COURSES, 2 if rng.random() < 0.12 else 1)
            for course in courses:
                if (course, key) in taken or len(lines) >= self.spec.enrolments:
                    continue  # a namesake at the same agency with neither phone nor e-mail
                taken.add((course, key))
                enrolled = self.start + dt.timedelta(days=rng.randint(0, last_enrolment))
                completed = score = NULL
                if rng.random() < 0.85:
                    done = enrolled + dt.timedelta(days=rng.randint(5, 45))
                    if done <= self.spec.end:
                        completed, score = done, f"{rng.randint(120, 200) / 2:.2f}"
                lines.append(
                    f"{course}\t{full_name}\t{agency}\t{email}\t{phone}\t{key}\t{audience}\t"
                    f"{commune_id or NULL}\t{district_id or NULL}\t{enrolled}\t{completed}\t"
                    f"{score}\t{imported}\tt\n"
                )
        return lines
