"""Writers mark buckets in their transaction and ask for the roll-up on commit, by name."""

import datetime as dt
import logging
from collections import Counter

import pytest
from celery import current_app
from django.db import transaction
from django.utils import timezone

from communes.models import Commune
from core.marks import ChangeSource, mark_changed
from dashboard.models import PendingRollup
from dashboard.queue import ROLLUP_TASK

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def rollup_task(monkeypatch):
    """The dashboard's task, registered under its name, with its queueing recorded
    instead of run."""
    calls = []

    def queued(*args, **kwargs):
        calls.append(PendingRollup.objects.count())

    monkeypatch.setattr(current_app.tasks[ROLLUP_TASK], "apply_async", queued)
    return calls


@pytest.fixture
def without_rollup_task():
    """As before the dashboard app registers its task (or in a process that lacks it)."""
    task = current_app.tasks.pop(ROLLUP_TASK)
    yield
    current_app.tasks[ROLLUP_TASK] = task


@pytest.mark.django_db
def test_marks_are_stored_and_the_roll_up_is_queued_once_on_commit(
    divisions, rollup_task, django_capture_on_commit_callbacks
):
    commune = Commune.objects.get(code=14269)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        mark_changed(
            source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY), (commune.pk, DAY)]
        )
        assert rollup_task == []  # nothing runs before the commit

    assert list(PendingRollup.objects.values_list("commune_id", "day")) == [(commune.pk, DAY)]
    assert len(callbacks) == 1
    assert rollup_task == [1]  # eager mode ran the task by name, after the marks were stored


@pytest.mark.django_db
def test_every_kind_of_mark_is_stored_with_its_place_day_source_and_time(divisions):
    commune = Commune.objects.get(code=14269)
    before = timezone.now()
    mark_changed(
        source=ChangeSource.TRAININGS,
        commune_days=[(commune.pk, DAY)],
        district_days=[(commune.district_id, DAY)],
        province_days=[DAY + dt.timedelta(days=1)],
        also={ChangeSource.READINESS: [(commune.pk, DAY)]},
    )
    rows = PendingRollup.objects.order_by("pk").values_list(
        "commune_id", "district_id", "day", "source", "marked_at"
    )
    assert Counter(row[:4] for row in rows) == Counter(
        [
            (commune.pk, None, DAY, "trainings"),
            (commune.pk, None, DAY, "readiness"),
            (None, commune.district_id, DAY, "trainings"),
            (None, None, DAY + dt.timedelta(days=1), "trainings"),
        ]
    )
    assert all(before <= row[4] <= timezone.now() for row in rows)


@pytest.mark.django_db
def test_a_second_mark_of_the_same_bucket_is_kept_for_the_next_run(divisions):
    commune = Commune.objects.get(code=14269)
    mark_changed(source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY)])
    mark_changed(source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY)])
    # Not merged: a roll-up that claimed the first must leave the second behind.
    assert PendingRollup.objects.filter(commune=commune, day=DAY).count() == 2


@pytest.mark.django_db
def test_marks_roll_back_with_the_change_that_made_them(divisions):
    commune = Commune.objects.get(code=14269)
    with pytest.raises(RuntimeError), transaction.atomic():
        mark_changed(source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY)])
        raise RuntimeError("the writer's change failed")
    assert not PendingRollup.objects.exists()


@pytest.mark.django_db
def test_a_broker_that_is_down_is_logged_never_raised(
    divisions, rollup_task, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(current_app.tasks[ROLLUP_TASK], "apply_async", broker_down)
    commune = Commune.objects.get(code=14269)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        mark_changed(source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY)])

    assert PendingRollup.objects.count() == 1  # the figures will catch up later
    assert "broker unreachable" in caplog.text


@pytest.mark.django_db
def test_without_the_dashboards_task_the_buckets_wait(
    divisions, caplog, django_capture_on_commit_callbacks, without_rollup_task
):
    commune = Commune.objects.get(code=14269)
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        mark_changed(source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY)])
    assert PendingRollup.objects.count() == 1
    assert "not registered" in caplog.text


@pytest.mark.django_db
def test_many_marks_in_one_transaction_queue_the_roll_up_once(
    divisions, rollup_task, django_capture_on_commit_callbacks
):
    commune = Commune.objects.get(code=14269)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for offset in range(50):
            mark_changed(
                source=ChangeSource.OUTREACH,
                commune_days=[(commune.pk, DAY - dt.timedelta(days=offset))],
            )
    assert PendingRollup.objects.count() == 50
    assert len(callbacks) == 1
    assert rollup_task == [50]


@pytest.mark.django_db
def test_a_mark_rolled_back_with_its_savepoint_does_not_stop_the_next_from_queueing(
    divisions, rollup_task, django_capture_on_commit_callbacks
):
    commune = Commune.objects.get(code=14269)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            mark_changed(source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY)])
            raise RuntimeError("this part of the change failed")
        mark_changed(
            source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY - dt.timedelta(days=1))]
        )
    assert rollup_task == [1]


@pytest.fixture
def with_broker(settings):
    """As with a broker: not eager, so the request is debounced."""
    from django.core.cache import cache

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ROLLUP_DEBOUNCE_SECONDS = 10
    cache.delete("rollup:queued")
    yield
    cache.delete("rollup:queued")


@pytest.mark.django_db
def test_with_a_broker_many_changes_ask_for_one_delayed_run_until_it_starts(
    with_broker, monkeypatch
):
    # What each writer's commit calls (the test's transaction would merge them).
    from dashboard.queue import rollup_queue, rollup_queue_reset

    asked = []
    monkeypatch.setattr(
        current_app.tasks[ROLLUP_TASK], "apply_async", lambda *a, **kw: asked.append(kw)
    )
    for _ in range(3):  # three submissions' commits
        rollup_queue()
    assert asked == [{"countdown": 10}]

    rollup_queue_reset()  # the run starts: the next change asks again
    rollup_queue()
    assert asked == [{"countdown": 10}, {"countdown": 10}]


@pytest.mark.django_db
def test_without_the_cache_the_change_waits_for_beat_instead_of_a_second_timeout(
    with_broker, monkeypatch, divisions, settings
):
    # The cache and the broker are usually one Redis: when the cache has just made the
    # form wait out a timeout, the broker would make it wait again. The marks wait in
    # Postgres; beat's run (every few minutes) asks for the roll-up.
    from bench.processes import free_port
    from dashboard.queue import rollup_queue

    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.TolerantRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/1",  # nothing listens there
        }
    }
    asked = []
    monkeypatch.setattr(
        current_app.tasks[ROLLUP_TASK], "apply_async", lambda *a, **kw: asked.append(kw)
    )
    commune = Commune.objects.get(code=14269)
    mark_changed(source=ChangeSource.OUTREACH, commune_days=[(commune.pk, DAY)])
    rollup_queue()  # the cache fails: its breaker opens
    rollup_queue()  # the cache is known to be away
    settings.ROLLUP_DEBOUNCE_SECONDS = 0
    rollup_queue()  # no debounce, but the broker is as likely away as the cache
    assert asked == []
    assert PendingRollup.objects.filter(commune=commune, day=DAY).exists()
