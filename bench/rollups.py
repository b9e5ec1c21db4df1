"""Sections 1 and 2: the full roll-up against the bare SQL floor, and incremental
roll-ups after bursts of new visits, in the database and end to end through Celery."""

import threading
import time

from celery import current_app
from django.db import connection, connections, transaction

from core.marks import ChangeSource
from dashboard import rollup
from dashboard.models import CommuneDay, PendingRollup, RollupState
from dashboard.queue import ROLLUP_TASK
from outreach.models import READINESS_FIELDS, Visit

from .harness import Context, Result, Timing, repeat

# The floor: one pass over the visits counting them per (commune, day), the least any
# roll-up of visits per commune and day must read. A visit's commune is its team's.
FLOOR_SQL = """
    SELECT t.commune_id, v.visited_on, count(*)
    FROM outreach_visit v JOIN outreach_team t ON t.id = v.team_id
    GROUP BY 1, 2
"""

FULL_TARGET_S = 5.0
FULL_TARGET_RATIO = 5.0
INCREMENTAL_DB_TARGET_MS = 100.0
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
    full = repeat(rollup.rollup_full, reps=ctx.heavy_reps, warmup=0)
    floor = repeat(_floor, reps=ctx.reps)
    ratio = full.median / floor.median
    result.add("visits in the table", f"{visits:,}")
    result.add(
        "full roll-up, all summary tables",
        full.s(),
        f"≤ {FULL_TARGET_S:.0f} s at M",
        full.median <= FULL_TARGET_S if ctx.size == "M" else None,
    )
    result.add("bare SQL floor: GROUP BY commune, day count", floor.s())
    result.add(
        "ratio full / floor",
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
        floor_s=floor.samples,
        ratio=ratio,
        reader_slowest_ms=slowest,
    )
    ctx.shared[f"full_{ctx.size}"] = full.median
    return result


# --- Incremental roll-ups ---------------------------------------------------------------


class Burst:
    """N new visits committed at once, as N submissions would leave them: cloned from
    existing visits (so each team works in its own commune, with its own members and
    services) onto the day after the last, each with its own pending mark, as the visit
    service writes it. `remove()` takes them out again and rolls the figures back, so
    that every repetition starts from the same table."""

    def __init__(self, count: int, seed: int):
        self.count, self.seed = count, seed
        self.ids: list[int] = []
        self.day = None

    def add(self) -> None:
        table = Visit._meta.db_table
        readiness = ", ".join(READINESS_FIELDS)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT max(visited_on) + 1 FROM {table}")  # noqa: S608
            (self.day,) = cursor.fetchone()
            # A deterministic sample: every visit whose hashed id falls in the seed's slice.
            cursor.execute(
                f"""
                CREATE TEMP TABLE burst ON COMMIT DROP AS
                SELECT id AS old_id, nextval(pg_get_serial_sequence('{table}', 'id')) AS new_id
                FROM (
                    SELECT id FROM {table}
                    ORDER BY hashint8(id # %s::bigint) LIMIT %s
                ) s
                """,  # noqa: S608 - names from the model
                [self.seed, self.count],
            )
            cursor.execute(
                f"""
                INSERT INTO {table} (id, team_id, household_id, visited_on, residents_helped,
                    outcome, notes, submission_id, submission_digest, created_at, updated_at,
                    is_demo, {readiness})
                SELECT b.new_id, v.team_id, v.household_id, %s, v.residents_helped, v.outcome,
                    '', gen_random_uuid(), '', now(), now(), true, {readiness}
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
            self._mark(cursor, "b.new_id", "burst b")
            cursor.execute("SELECT new_id FROM burst")
            self.ids = [row[0] for row in cursor.fetchall()]

    @staticmethod
    def _mark(cursor, visit_id: str, source: str) -> None:
        """One pending mark per visit, on its commune and day."""
        cursor.execute(
            f"""
            INSERT INTO {PendingRollup._meta.db_table} (commune_id, day, source, marked_at)
            SELECT t.commune_id, v.visited_on, %s, now() FROM {source}
            JOIN {Visit._meta.db_table} v ON v.id = {visit_id}
            JOIN outreach_team t ON t.id = v.team_id
            """,  # noqa: S608
            [ChangeSource.OUTREACH],
        )

    def remove(self) -> None:
        """Delete the burst's visits and roll their day back (untimed)."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {PendingRollup._meta.db_table} (commune_id, day, source, marked_at)
                SELECT DISTINCT t.commune_id, v.visited_on, %s, now()
                FROM {Visit._meta.db_table} v JOIN outreach_team t ON t.id = v.team_id
                WHERE v.id = ANY(%s)
                """,  # noqa: S608
                [ChangeSource.OUTREACH, self.ids],
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
        self.ids = []


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
            burst = Burst(count, seed=rep + 1)
            burst.add()
            started = time.perf_counter()
            claimed = rollup.rollup_pending().claimed
            elapsed = time.perf_counter() - started
            if claimed != count:
                raise RuntimeError(f"the roll-up claimed {claimed} marks, not {count}")
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
        result.add(
            f"{count:,} new visits, in the database",
            db.ms(),
            f"≤ {INCREMENTAL_DB_TARGET_MS:.0f} ms" if target else "",
            db.median * 1000 <= INCREMENTAL_DB_TARGET_MS if target else None,
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
