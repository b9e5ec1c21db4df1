"""Faults of the Celery worker in the middle of a roll-up: its pool process killed, then
the whole worker killed and another started.

The roll-up is caught mid-way on purpose: the test holds a row lock on the day's
commune summary row, so the worker's transaction has claimed the marks and rewritten the
team and hamlet rows when it stops, waiting, at the commune row. That is where the kill
lands. Only one roll-up is ever asked for (the queue is emptied first, nothing else
runs beat and the worker's watch is off), so figures that catch up prove the task itself
came back. The last test turns the watch on in the next worker, with the production
visibility timeout: the changes are caught up by the watch, not the task's return.
Afterwards the summary tables must equal the figures recomputed in Python from the raw
rows.
"""

import dataclasses
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest

from bench.processes import Worker, children
from dashboard import rollup
from dashboard.models import CommuneDay, PendingRollup
from dashboard.tests.exact import assert_figures_exact

from .faults import (
    Portal,
    figures_caught_up,
    form_token,
    portal_on_shared_database,
    send_as_beat,
    submit,
    wait_until,
)

# Slow: a portal, a database or a Redis of its own, broken on purpose; `-m "not slow"` skips it.
pytestmark = pytest.mark.slow

REDONE_WITHIN = 15.0  # seconds from the kill, in the test configuration
# The test configuration of the Redis transport: a task out for 4 s without an answer is
# handed out again, found by a sweep every second (production: an hour, every 100 s).
QUICK_RESTORE = {
    "CELERY_VISIBILITY_TIMEOUT": "4",
    "CELERY_RESTORE_INTERVAL": "1",
    "CELERY_RESTORE_THROTTLE": "1",
}
# Without the worker's watch, which would ask for the roll-up itself: these tests prove
# that the task they killed comes back by Celery's own means.
WATCH_OFF = {"ROLLUP_WATCH_SECONDS": "0"}


@contextmanager
def _commune_day_locked(portal: Portal) -> Iterator[int]:
    """Hold the day's commune summary row: a roll-up that reaches it waits there, at a
    point the test knows, until the lock goes."""
    locker = psycopg2.connect(portal.database_url)
    try:
        with locker.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {CommuneDay._meta.db_table} WHERE commune_id = %s FOR UPDATE",  # noqa: S608
                [portal.world.commune_id],
            )
            assert cursor.fetchall(), "the day's commune row must exist before it is locked"
            cursor.execute("SELECT pg_backend_pid()")
            holder = cursor.fetchone()[0]
        yield holder
    finally:
        locker.rollback()
        locker.close()


def _waiting_on(portal: Portal, holder: int) -> bool:
    """Another session waits for a lock the `holder` session holds. Asked on a
    connection of its own: inside a transaction PostgreSQL keeps showing its first view
    of the sessions, from before the worker connected."""
    watcher = psycopg2.connect(portal.database_url)
    try:
        watcher.autocommit = True
        with watcher.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                [holder],
            )
            return cursor.fetchone()[0] > 0
    finally:
        watcher.close()


def _visits_waiting_for_their_roll_up(portal: Portal) -> None:
    """Two visits rolled up (the commune row exists), three more marked and not asked for."""
    cookie, token = form_token(portal)
    for n in range(2):
        submit(portal, cookie, token, n)
    # In full: the factories made the team and its leader without marking their days.
    rollup.rollup_full()
    for n in range(2, 5):
        status, _seconds = submit(portal, cookie, token, n)
        assert status == 302
    # What the submissions asked the broker for goes: the one roll-up is the test's.
    portal.redis.queue_drop()


def _killed_mid_roll_up(portal: Portal, worker: Worker, kill) -> float:
    """Ask for one roll-up, let it reach the locked row, kill; when the kill landed."""
    with _commune_day_locked(portal) as holder:
        send_as_beat(portal)
        assert wait_until(lambda: _waiting_on(portal, holder), within=30), (
            "the roll-up never reached the commune row:\n" + worker.log.read_text()[-2000:]
        )
        kill(worker)
        killed_at = time.monotonic()
    return killed_at


@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_mid_roll_up_gives_the_task_back_and_the_figures_are_exact(
    reference_data, divisions, tmp_path
):
    with portal_on_shared_database(tmp_path, **WATCH_OFF) as portal:
        _visits_waiting_for_their_roll_up(portal)
        with Worker(portal.ctx, loglevel="INFO") as worker:
            pool = worker.child_pids()
            assert len(pool) == 1

            def kill_the_pool_process(worker: Worker) -> None:
                os.kill(pool[0], signal.SIGKILL)

            _killed_mid_roll_up(portal, worker, kill_the_pool_process)

            # The worker replaces its process and runs the task it was given back
            # (acks late, rejected on a lost worker): nothing else asks for it.
            assert figures_caught_up(portal, within=60)
            assert worker.child_pids() != pool
        assert_figures_exact()
        assert "WorkerLostError" in worker.log.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_whole_worker_killed_mid_roll_up_has_its_task_redone_by_the_next_within_15_s(
    reference_data, divisions, tmp_path
):
    with portal_on_shared_database(tmp_path, **QUICK_RESTORE, **WATCH_OFF) as portal:
        _visits_waiting_for_their_roll_up(portal)
        with Worker(portal.ctx, loglevel="INFO") as first:
            killed_at = _killed_mid_roll_up(portal, first, _kill_the_whole_worker)
        with Worker(portal.ctx, loglevel="INFO"):
            assert figures_caught_up(portal, within=REDONE_WITHIN + 30)
            redone_after = time.monotonic() - killed_at
        assert_figures_exact()
        assert redone_after < REDONE_WITHIN, f"redone {redone_after:.1f} s after the kill"


def _kill_the_whole_worker(worker: Worker) -> None:
    # No goodbye: the main process and its pool at once, as a lost machine.
    tree = [worker.pid, *children(worker.pid)]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.process.wait(timeout=10)
    assert wait_until(lambda: not any(_alive(pid) for pid in tree), within=10)


CAUGHT_UP_WITHIN = 30.0  # seconds from the next worker's start (issue 15: an hour before)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_an_hour_of_visibility_timeout_the_next_worker_catches_up_within_30_s(
    reference_data, divisions, tmp_path
):
    """The production transport options: the killed worker's task stays out of the queue
    for an hour. No beat runs. The next worker finds the changes waiting when it starts."""
    with portal_on_shared_database(tmp_path) as portal:
        _visits_waiting_for_their_roll_up(portal)
        # The first worker without its watch: the one roll-up in flight is the test's.
        unwatched = dataclasses.replace(portal.ctx, env={**portal.ctx.env, **WATCH_OFF})
        with Worker(unwatched, loglevel="INFO") as first:
            _killed_mid_roll_up(portal, first, _kill_the_whole_worker)
        assert PendingRollup.objects.exists()
        started = time.monotonic()
        with Worker(portal.ctx, loglevel="INFO") as second:
            caught_up = figures_caught_up(portal, within=CAUGHT_UP_WITHIN + 30)
            caught_up_after = time.monotonic() - started
        assert caught_up, second.log.read_text()[-3000:]
        assert_figures_exact()
        assert caught_up_after < CAUGHT_UP_WITHIN, f"caught up {caught_up_after:.1f} s after"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but listed until reaped.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
