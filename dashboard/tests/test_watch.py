"""The worker's watch over the pending roll-up (dashboard/worker.py), the heartbeats it
and beat leave, and the oldest waiting change carried in the figures' state.

Celery runs tasks eagerly here, so a roll-up the watch asks for has run when it returns:
the marks are gone. The worker's real behaviour (a Redis that comes back, a worker
killed mid-run) is in config/tests/test_faults_broker.py and test_faults_worker.py.
"""

import datetime as dt
import logging
import pickle
import time
from types import SimpleNamespace

import psycopg2
import pytest
from celery.beat import ScheduleEntry, Scheduler
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from communes.models import Commune
from config import celery_app
from core.marks import ChangeSource
from dashboard import rollup, worker
from dashboard.models import PendingRollup, RollupState, ServiceHeartbeat
from dashboard.tasks import beat_heartbeat

HAI_DONG = 14269


def mark(*, waited: dt.timedelta = dt.timedelta(0)) -> PendingRollup:
    """A change of Hải Đông's, marked for the roll-up `waited` ago."""
    row = PendingRollup.objects.create(
        commune=Commune.objects.get(code=HAI_DONG),
        day=timezone.localdate(),
        source=ChangeSource.OUTREACH,
    )
    PendingRollup.objects.filter(pk=row.pk).update(marked_at=timezone.now() - waited)
    return row


def seen(process: str) -> dt.datetime | None:
    return (
        ServiceHeartbeat.objects.filter(process=process).values_list("seen_at", flat=True).first()
    )


OVERDUE = dt.timedelta(minutes=1)  # past the default debounce (10 s) and two looks (10 s)


# --- One look ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_look_records_the_workers_heartbeat_in_one_row(divisions):
    before = timezone.now()
    worker.rollup_watch()
    first = seen("worker")
    worker.rollup_watch()
    assert ServiceHeartbeat.objects.count() == 1
    assert before <= first <= seen("worker") <= timezone.now()


@pytest.mark.django_db
def test_on_connecting_the_watch_asks_at_once_for_any_change_waiting(divisions):
    mark()  # just made: its own request may have been lost with the broker
    assert worker.rollup_watch(connected=True) is True
    assert not PendingRollup.objects.exists()


@pytest.mark.django_db
def test_later_looks_leave_a_fresh_change_to_its_own_request(divisions):
    mark(waited=dt.timedelta(seconds=5))
    assert worker.rollup_watch() is False
    assert PendingRollup.objects.exists()


@pytest.mark.django_db
def test_later_looks_ask_for_a_change_whose_request_is_overdue(divisions):
    mark(waited=OVERDUE)
    assert worker.rollup_watch() is True
    assert not PendingRollup.objects.exists()


@pytest.mark.django_db
def test_the_watch_asks_for_nothing_when_nothing_waits(divisions, monkeypatch):
    asked = []
    monkeypatch.setattr(worker.rollup_pending, "delay", lambda: asked.append(1))
    assert worker.rollup_watch(connected=True) is False
    assert asked == []
    assert seen("worker") is not None


@pytest.mark.django_db
def test_a_look_that_may_not_ask_only_records_the_heartbeat(divisions):
    mark(waited=OVERDUE)
    assert worker.rollup_watch(connected=True, may_ask=False) is False
    assert PendingRollup.objects.exists()
    assert seen("worker") is not None


@pytest.mark.django_db(transaction=True)
def test_the_watch_does_not_ask_while_a_run_holds_the_lock(reference_data, divisions):
    RollupState.objects.get_or_create(pk=1)
    mark(waited=OVERDUE)
    database = connection.settings_dict
    holder = psycopg2.connect(
        dbname=database["NAME"], user=database["USER"], host=database["HOST"] or "127.0.0.1"
    )
    try:
        with holder.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {RollupState._meta.db_table} FOR UPDATE")  # noqa: S608
        started = time.monotonic()
        assert worker.rollup_watch(connected=True) is False
        assert time.monotonic() - started < 2  # asked without waiting for the lock
        assert PendingRollup.objects.exists()
    finally:
        holder.rollback()
        holder.close()
    assert worker.rollup_watch(connected=True) is True
    assert not PendingRollup.objects.exists()


# --- The step in the worker's consumer ---------------------------------------------------


@pytest.fixture
def no_database(monkeypatch):
    """The step's own logic; the look itself is replaced in these tests."""
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)


class FakeTimer:
    def __init__(self):
        self.repeating = []
        self.cancelled = []

    def call_repeatedly(self, seconds, fun, priority=0):
        self.repeating.append((seconds, fun))
        return fun

    def cancel(self, entry):
        self.cancelled.append(entry)


def test_the_step_looks_at_once_on_connecting_then_on_the_timer(settings, monkeypatch, no_database):
    settings.ROLLUP_WATCH_SECONDS = 7
    looks = []
    monkeypatch.setattr(worker, "rollup_watch", lambda **kw: looks.append(kw) or False)
    consumer = SimpleNamespace(timer=FakeTimer())
    step = worker.RollupWatch(consumer)
    assert step.include_if(consumer)

    step.start(consumer)
    assert looks == [{"connected": True, "may_ask": True}]
    [(seconds, look)] = consumer.timer.repeating
    assert seconds == 7
    look()
    assert looks[-1] == {"connected": False, "may_ask": True}

    step.stop(consumer)
    assert consumer.timer.cancelled == [look]


def test_the_step_is_left_out_when_the_watch_is_off(settings):
    settings.ROLLUP_WATCH_SECONDS = 0
    consumer = SimpleNamespace(timer=FakeTimer())
    assert not worker.RollupWatch(consumer).include_if(consumer)


def test_after_asking_the_step_waits_before_asking_again_unless_it_reconnects(
    monkeypatch, no_database
):
    clock = [1000.0]
    monkeypatch.setattr(worker.time, "monotonic", lambda: clock[0])
    looks = []
    # Changes always wait: a look asks whenever it may.
    monkeypatch.setattr(
        worker, "rollup_watch", lambda **kw: looks.append(kw["may_ask"]) or kw["may_ask"]
    )
    consumer = SimpleNamespace(timer=FakeTimer())
    step = worker.RollupWatch(consumer)

    step.start(consumer)  # asks
    clock[0] += worker.ASK_AGAIN_AFTER_SECONDS - 1
    step.look()  # too soon
    clock[0] += 1
    step.look()  # the run it asked for should have started by now: asks again
    step.stop(consumer)
    step.start(consumer)  # a new connection: what was asked may be lost
    assert looks == [True, False, True, True]


def test_a_failing_look_is_logged_once_and_never_raised(monkeypatch, caplog, no_database):
    failures = [RuntimeError("database away")] * 3

    def look(**kwargs):
        if failures:
            raise failures.pop()
        return False

    monkeypatch.setattr(worker, "rollup_watch", look)
    step = worker.RollupWatch(SimpleNamespace(timer=FakeTimer()))
    with caplog.at_level(logging.WARNING, logger="dashboard.worker"):
        for _ in range(4):
            step.look()
    assert [r.getMessage() for r in caplog.records] == [
        "roll-up watch failed (RuntimeError); trying again every 5 s",
        "roll-up watch works again",
    ]


def test_the_worker_retries_a_lost_broker_every_few_seconds_and_never_gives_up():
    """What Celery's consumer hands kombu when it (re)connects: kombu's own default waits
    up to 30 s between attempts, and Celery's gives up (the worker exits) after 100."""
    received = {}

    class Connection:
        def ensure_connection(self, errback=None, max_retries=None, **kwargs):
            received.update(kwargs, max_retries=max_retries)
            return self

    consumer = worker.Consumer.__new__(worker.Consumer)  # no broker: only this method
    consumer.app = celery_app
    consumer.first_connection_attempt = False
    consumer.broker_connection_retry_attempt = 0
    consumer.ensure_connected(Connection())
    assert received["interval_max"] == worker.RECONNECT_MAX_INTERVAL <= 5
    assert received["max_retries"] is None
    assert celery_app.conf.worker_consumer == "dashboard.worker:Consumer"
    assert "dashboard.worker:RollupWatch" in celery_app.steps["consumer"]


# --- Beat's heartbeat ----------------------------------------------------------------------


@pytest.mark.django_db
def test_beat_sends_its_heartbeat_with_the_time_it_sent_it():
    """The schedule's entry as beat applies it (eagerly here): its argument is evaluated
    at each sending, and the entry survives beat's schedule file (pickled)."""
    options = celery_app.conf.beat_schedule["beat-heartbeat"]
    entry = ScheduleEntry(name="beat-heartbeat", app=celery_app, **options)
    pickle.loads(pickle.dumps(entry))
    before = timezone.now()
    Scheduler(app=celery_app, lazy=True).apply_async(entry, advance=False)
    assert before - dt.timedelta(seconds=1) <= seen("beat") <= timezone.now()
    assert seen("worker") is None


@pytest.mark.django_db
def test_a_heartbeat_run_late_records_when_beat_sent_it():
    sent = timezone.now() - dt.timedelta(minutes=7)  # it waited for a worker
    beat_heartbeat.apply(args=[sent.timestamp()])
    assert seen("beat") == sent


# --- The oldest waiting change in the figures' state -----------------------------------------


@pytest.mark.django_db
def test_the_figures_state_carries_the_oldest_change_waiting(divisions):
    oldest = mark(waited=dt.timedelta(minutes=3))
    mark(waited=dt.timedelta(minutes=1))
    RollupState.objects.get_or_create(pk=1)
    state = rollup.rollup_state_read()
    assert state.pending_since == PendingRollup.objects.get(pk=oldest.pk).marked_at
    assert not state.late()
    assert state.late(timezone.now() + dt.timedelta(minutes=8))


@pytest.mark.django_db
def test_before_any_run_the_state_still_names_the_oldest_change(divisions):
    row = mark(waited=dt.timedelta(minutes=20))
    state = rollup.rollup_state_read()
    assert state.key == "0"
    assert state.pending_since == PendingRollup.objects.get(pk=row.pk).marked_at
    assert state.late()


@pytest.mark.django_db
def test_a_run_publishes_the_state_with_nothing_waiting(
    divisions, django_capture_on_commit_callbacks
):
    mark(waited=dt.timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        rollup.rollup_pending()
    cached = cache.get(rollup.STATE_CACHE_KEY)
    assert cached == rollup.rollup_state_read()
    assert cached.pending_since is None and cached.last_run_at is not None
