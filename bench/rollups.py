"""Sections 1 and 2: the full roll-up against the bare SQL floor, and incremental
roll-ups after bursts of new visits, in the database and end to end through Celery."""

import threading
import time

from celery import current_app
from django.db import connection, connections, transaction

from core.marks import ChangeSource
from dashboard import rollup
from dashboard.models import (
    CommuneDay,
    CommuneDayService,
    CommuneMonth,
    CommuneMonthService,
    CommuneReadiness,
    HamletDay,
    PendingRollup,
    RollupState,
    TeamDay,
    TeamTotal,
)
from dashboard.queue import ROLLUP_TASK
from outreach.models import (
    READINESS_FIELDS,
    Household,
    MemberDay,
    ReadinessDay,
    ReadinessLevel,
    Visit,
)

from .harness import Context, Result, Timing, repeat

# The floor: one pass over the visits counting them per (commune, day), the least any
# roll-up of visits per commune and day must read (the commune recorded on the visit).
FLOOR_SQL = """
    SELECT v.commune_id, v.visited_on, count(*)
    FROM outreach_visit v
    GROUP BY 1, 2
"""

FULL_TARGET_S = 5.0
# Issue 17: the rebuild from the write-time facts at M, against the floor.
FULL_TARGET_RATIO = 8.0
# Issue 17: in the database, at every size, for 10,000 and 1,000 new visits (and the
# 10,000's time at M and L no more than 1.3 times S's: it follows the change, not the
# table).
INCREMENTAL_DB_TARGET_MS = {10_000: 250.0, 1_000: 60.0}
INCREMENTAL_GROWTH_TARGET = 1.3
INCREMENTAL_E2E_TARGET_MS = 250.0


def _floor() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute(FLOOR_SQL)
        cursor.fetchall()


def _readers_during_full_rollup() -> tuple[float, int]:
    """Run a full roll-up in a thread while this thread reads the summary table every
    20 ms on its own connection: (the slowest read in ms, reads made)."""
    done = threading.Event()
    errors: list[BaseException] = []

    def run():
        try:
            rollup.rollup_full()
        except BaseException as exc:  # reported below, in the caller's thread
            errors.append(exc)
        finally:
            connections.close_all()
            done.set()

    worker = threading.Thread(target=run)
    worker.start()
    slowest, reads = 0.0, 0
    while not done.is_set():
        started = time.perf_counter()
        list(CommuneDay.objects.values_list("visits", flat=True)[:50])
        slowest = max(slowest, time.perf_counter() - started)
        reads += 1
        time.sleep(0.02)
    worker.join()
    if errors:
        raise errors[0]
    return slowest * 1000, reads


def full_section(ctx: Context) -> Result:
    result = Result(f"Full roll-up at {ctx.size}")
    visits = Visit.objects.count()
    # The run before this section (the roll-up task's memory) warmed the tables up.
    # Each run checks the write-time facts, then rebuilds the summaries from them: the
    # state row says how long each part took.
    checks, rebuilds = [], []

    def run() -> None:
        rollup.rollup_full()
        state = RollupState.objects.get(pk=1)
        checks.append(state.facts_check_seconds)
        rebuilds.append(state.last_full_seconds)

    full = repeat(run, reps=ctx.heavy_reps, warmup=0)
    check, rebuild = Timing(checks), Timing(rebuilds)
    floor = repeat(_floor, reps=ctx.reps)
    ratio = rebuild.median / floor.median
    result.add("visits in the table", f"{visits:,}")
    result.add("full run: the facts' check, then the rebuild", full.s())
    result.add("the facts' check against the raw rows", check.s())
    result.add(
        "the rebuild of every summary table from the facts",
        rebuild.s(),
        f"≤ {FULL_TARGET_S:.0f} s at M",
        rebuild.median <= FULL_TARGET_S if ctx.size == "M" else None,
    )
    result.add("bare SQL floor: GROUP BY commune, day count", floor.s())
    result.add(
        "ratio rebuild / floor",
        f"{ratio:,.1f}×",
        f"≤ {FULL_TARGET_RATIO:.0f}× at M",
        ratio <= FULL_TARGET_RATIO if ctx.size == "M" else None,
    )
    slowest, reads = _readers_during_full_rollup()
    result.add(
        "slowest summary read during a full roll-up",
        f"{slowest:,.1f} ms over {reads:,} reads",
        "readers never blocked",
        slowest < 1000,
    )
    result.figures.update(
        visits=visits,
        full_s=full.samples,
        facts_check_s=check.samples,
        rebuild_s=rebuild.samples,
        floor_s=floor.samples,
        ratio=ratio,
        reader_slowest_ms=slowest,
    )
    ctx.shared[f"full_{ctx.size}"] = rebuild.median
    return result


# --- Incremental roll-ups ---------------------------------------------------------------


class Burst:
    """N new visits committed at once, as N submissions would leave them: cloned from
    existing visits of N different households (so each team works in its own commune,
    with its own members and services) onto the day after the last, with the facts the
    visit service records (return visits, the members out, the households' checklist
    changes) and its pending marks. `remove()` takes them out again and rolls the
    figures back, so that every repetition starts from the same table."""

    def __init__(self, count: int, seed: int):
        self.count, self.seed = count, seed
        self.ids: list[int] = []
        self.day = None
        self.answers: list[tuple] = []
        self.marks = 0  # the pending marks add() made

    def add(self) -> None:
        table = Visit._meta.db_table
        households = Household._meta.db_table
        readiness = ", ".join(READINESS_FIELDS)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT max(visited_on) + 1 FROM {table}")  # noqa: S608
            (self.day,) = cursor.fetchone()
            # A deterministic sample: the visits whose hashed ids fall in the seed's slice,
            # one a household (a household's visits of one submission each).
            cursor.execute(
                f"""
                CREATE TEMP TABLE burst ON COMMIT DROP AS
                SELECT id AS old_id, nextval(pg_get_serial_sequence('{table}', 'id')) AS new_id
                FROM (
                    SELECT DISTINCT ON (household_id) id, hashint8(id # %s::bigint) AS h
                    FROM {table} ORDER BY household_id, h
                ) s
                ORDER BY h LIMIT %s
                """,  # noqa: S608 - names from the model
                [self.seed, self.count],
            )
            cursor.execute(
                f"""
                INSERT INTO {table} (id, team_id, household_id, visited_on, residents_helped,
                    outcome, notes, submission_id, submission_digest, created_at, updated_at,
                    is_demo, {readiness}, commune_id, hamlet_id, first_for_household,
                    first_for_team)
                SELECT b.new_id, v.team_id, v.household_id, %s, v.residents_helped, v.outcome,
                    '', gen_random_uuid(), '', now(), now(), true, {readiness}, v.commune_id,
                    v.hamlet_id, false, false
                FROM burst b JOIN {table} v ON v.id = b.old_id
                """,  # noqa: S608
                [self.day],
            )
            for through, column in (
                (Visit.members.through, "member_id"),
                (Visit.services.through, "service_id"),
            ):
                cursor.execute(
                    f"INSERT INTO {through._meta.db_table} (visit_id, {column}) "  # noqa: S608
                    f"SELECT b.new_id, x.{column} FROM burst b "
                    f"JOIN {through._meta.db_table} x ON x.visit_id = b.old_id"
                )
            cursor.execute(
                f"INSERT INTO {MemberDay._meta.db_table} (member_id, commune_id, day) "  # noqa: S608
                f"SELECT DISTINCT x.member_id, v.commune_id, v.visited_on FROM burst b "
                f"JOIN {table} v ON v.id = b.new_id "
                f"JOIN {Visit.members.through._meta.db_table} x ON x.visit_id = b.new_id "
                f"ON CONFLICT DO NOTHING"
            )
            cursor.execute(
                f"SELECT h.id, {', '.join(f'h.{item}' for item in READINESS_FIELDS)} "  # noqa: S608
                f"FROM burst b JOIN {table} v ON v.id = b.new_id "
                f"JOIN {households} h ON h.id = v.household_id"
            )
            self.answers = cursor.fetchall()
            readiness_marks = self._readiness(cursor)
            self._mark(cursor, "b.new_id", "burst b")
            cursor.execute("SELECT new_id FROM burst")
            self.ids = [row[0] for row in cursor.fetchall()]
            self.marks = len(self.ids) + readiness_marks

    def _readiness(self, cursor) -> int:
        """The households' checklists after the burst's visits, their changes added to
        the day's readiness rows; returns the readiness marks made. Each household has
        one visit in the burst, none later."""
        table, households = Visit._meta.db_table, Household._meta.db_table
        changes = " UNION ALL ".join(
            f"SELECT h.commune_id, %s AS item, "
            f"(v.{item} IS TRUE)::int - (h.{item} IS TRUE)::int AS yes, "
            f"(h.{item} IS NULL)::int AS answered "
            f"FROM burst b JOIN {table} v ON v.id = b.new_id "
            f"JOIN {households} h ON h.id = v.household_id "
            f"WHERE v.{item} IS NOT NULL AND v.{item} IS DISTINCT FROM h.{item}"
            for item in READINESS_FIELDS
        )
        cursor.execute(
            f"INSERT INTO {ReadinessDay._meta.db_table} "  # noqa: S608
            f"(commune_id, day, item, yes, answered) "
            f"SELECT commune_id, %s, item, SUM(yes), SUM(answered) FROM ({changes}) c "
            f"GROUP BY commune_id, item",
            [self.day, *READINESS_FIELDS],
        )
        self._levels_add(cursor, "+")
        assign = ", ".join(f"{item} = COALESCE(v.{item}, h.{item})" for item in READINESS_FIELDS)
        cursor.execute(
            f"UPDATE {households} h SET {assign} FROM burst b "  # noqa: S608
            f"JOIN {table} v ON v.id = b.new_id WHERE h.id = v.household_id"
        )
        return self._readiness_mark(cursor)

    def _levels_add(self, cursor, sign: str) -> None:
        """Add (+) or take back (-) the burst day's readiness changes to the communes'
        levels, as the visit services keep them with the days."""
        level, days = ReadinessLevel._meta.db_table, ReadinessDay._meta.db_table
        cursor.execute(
            f"INSERT INTO {level} (commune_id, item, yes, answered) "  # noqa: S608
            f"SELECT commune_id, item, {sign}yes, {sign}answered FROM {days} WHERE day = %s "
            f"ON CONFLICT (commune_id, item) DO UPDATE SET yes = {level}.yes + excluded.yes, "
            f"answered = {level}.answered + excluded.answered",
            [self.day],
        )

    def _readiness_mark(self, cursor) -> int:
        """A readiness mark for each commune whose readiness the burst changes; returns
        how many."""
        cursor.execute(
            f"INSERT INTO {PendingRollup._meta.db_table} (commune_id, day, source, marked_at) "  # noqa: S608
            f"SELECT DISTINCT commune_id, %s, %s, now() FROM {ReadinessDay._meta.db_table} "
            f"WHERE day = %s",
            [self.day, ChangeSource.READINESS, self.day],
        )
        return cursor.rowcount

    @staticmethod
    def _mark(cursor, visit_id: str, source: str) -> None:
        """One pending mark per visit, on its commune and day."""
        cursor.execute(
            f"""
            INSERT INTO {PendingRollup._meta.db_table} (commune_id, day, source, marked_at)
            SELECT v.commune_id, v.visited_on, %s, now() FROM {source}
            JOIN {Visit._meta.db_table} v ON v.id = {visit_id}
            """,  # noqa: S608
            [ChangeSource.OUTREACH],
        )

    def remove(self) -> None:
        """Delete the burst's visits and their facts, give the households back their
        checklists and roll their day back (untimed)."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {PendingRollup._meta.db_table} (commune_id, day, source, marked_at)
                SELECT DISTINCT v.commune_id, v.visited_on, %s, now()
                FROM {Visit._meta.db_table} v WHERE v.id = ANY(%s)
                """,  # noqa: S608
                [ChangeSource.OUTREACH, self.ids],
            )
            self._readiness_mark(cursor)
            self._levels_add(cursor, "-")
            for fact in (MemberDay, ReadinessDay):
                cursor.execute(
                    f"DELETE FROM {fact._meta.db_table} WHERE day = %s",  # noqa: S608
                    [self.day],
                )
            assign = ", ".join(f"{item} = %s" for item in READINESS_FIELDS)
            cursor.executemany(
                f"UPDATE {Household._meta.db_table} SET {assign} WHERE id = %s",  # noqa: S608
                [(*answers, pk) for pk, *answers in self.answers],
            )
            for through in (Visit.members.through, Visit.services.through):
                cursor.execute(
                    f"DELETE FROM {through._meta.db_table} WHERE visit_id = ANY(%s)",  # noqa: S608
                    [self.ids],
                )
            cursor.execute(
                f"DELETE FROM {Visit._meta.db_table} WHERE id = ANY(%s)",  # noqa: S608
                [self.ids],
            )
        rollup.rollup_pending()
        self.ids, self.answers = [], []


def _version() -> int:
    return RollupState.objects.values_list("version", flat=True).first() or 0


def _through_celery(timeout: float = 600.0) -> float:
    """Queue the pending roll-up by name as a writer's commit does, and wait until a
    worker has claimed every mark and finished: seconds from the queueing."""
    before = _version()
    started = time.perf_counter()
    current_app.signature(ROLLUP_TASK).apply_async()
    while time.perf_counter() - started < timeout:
        if _version() > before and not PendingRollup.objects.exists():
            return time.perf_counter() - started
        time.sleep(0.002)
    raise TimeoutError(f"no worker finished the roll-up within {timeout:.0f} s")


# What a burst and its removal leave dead behind them: the marks, the visits and their
# facts, the summary rows they rewrote.
CHURNED = (
    PendingRollup,
    Visit,
    Visit.members.through,
    Visit.services.through,
    MemberDay,
    ReadinessDay,
    ReadinessLevel,
    Household,
    CommuneDay,
    CommuneDayService,
    CommuneMonth,
    CommuneMonthService,
    HamletDay,
    TeamDay,
    TeamTotal,
    CommuneReadiness,
)


def _settle() -> None:
    """Vacuum and analyse what the last burst churned (untimed), as autovacuum would
    have within its minute: PostgreSQL here runs with autovacuum off, and without this
    each repetition would scan the dead rows of all the ones before it (the marks'
    table: 150,000 dead rows after a few bursts of 10,000)."""
    with connection.cursor() as cursor:
        for model in CHURNED:
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def incremental_section(ctx: Context, worker=None) -> Result:
    """`worker`: a running Celery worker (bench.processes.Worker) for the end-to-end
    figures; without one only the database time is measured."""
    result = Result(f"Incremental roll-up at {ctx.size}")
    sizes = (100, 1_000) if ctx.tiny else (1_000, 10_000, 100_000)
    full = ctx.shared.get(f"full_{ctx.size}")
    rollup.rollup_pending()  # nothing left over from earlier sections
    for count in sizes:
        samples_db, samples_e2e = [], []
        reps = ctx.heavy_reps if count >= 100_000 else ctx.reps
        for rep in range(reps + 1):  # the first is the warm-up
            _settle()
            burst = Burst(count, seed=rep + 1)
            burst.add()
            started = time.perf_counter()
            claimed = rollup.rollup_pending().claimed
            elapsed = time.perf_counter() - started
            if claimed != burst.marks:
                raise RuntimeError(f"the roll-up claimed {claimed} marks, not {burst.marks}")
            burst.remove()
            if rep:
                samples_db.append(elapsed)
            if worker is not None:
                burst = Burst(count, seed=100 + rep)
                burst.add()
                try:
                    elapsed = _through_celery()
                except TimeoutError as timeout:
                    # Said in the report; the other sizes are still measured.
                    result.notes.append(f"{count:,} new visits through the worker: {timeout}.")
                    rollup.rollup_pending()
                    worker = None
                burst.remove()
                if rep and worker is not None:
                    samples_e2e.append(elapsed)
        db = Timing(samples_db)
        target = count == 10_000
        goal = INCREMENTAL_DB_TARGET_MS.get(count)
        result.add(
            f"{count:,} new visits, in the database",
            db.ms(),
            f"≤ {goal:.0f} ms" if goal else "",
            db.median * 1000 <= goal if goal and not ctx.tiny else None,
        )
        at_s = ctx.shared.get("incremental_S", {}).get(f"db_{count}_s")
        if target and at_s and ctx.size != "S":
            growth = db.median / Timing(at_s).median
            result.add(
                f"{count:,} new visits: {ctx.size} / S",
                f"{growth:.2f}",
                f"≤ {INCREMENTAL_GROWTH_TARGET}",
                growth <= INCREMENTAL_GROWTH_TARGET,
            )
        if samples_e2e:
            e2e = Timing(samples_e2e)
            result.add(
                f"{count:,} new visits, end to end through Redis and a worker",
                e2e.ms(),
                f"≤ {INCREMENTAL_E2E_TARGET_MS:.0f} ms" if target else "",
                e2e.median * 1000 <= INCREMENTAL_E2E_TARGET_MS if target else None,
            )
            result.figures[f"e2e_{count}_s"] = e2e.samples
        if full:
            result.add(
                f"{count:,} new visits: ratio to the full roll-up", f"{db.median / full:.3f}"
            )
        result.figures[f"db_{count}_s"] = db.samples
    ctx.shared[f"incremental_{ctx.size}"] = result.figures
    return result
