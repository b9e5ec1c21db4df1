"""The neutral marking function: what a receiver hears, and when."""

import datetime as dt

import pytest
from django.db import transaction

from core.marks import ChangeSource, buckets_changed, changes_committed, mark_changed

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def places():
    # Two real communes: the dashboard's receiver, connected in every process, stores
    # the marks it hears.
    from communes.models import Commune

    return list(Commune.objects.order_by("code").values_list("pk", flat=True)[:2])


@pytest.fixture
def heard():
    """What receivers hear, as a dashboard's would (connected for the test only)."""
    events = []

    def on_buckets(**kwargs):
        events.append(("buckets", kwargs["source"], kwargs["commune_days"]))

    def on_commit(**kwargs):
        events.append(("committed",))

    buckets_changed.connect(on_buckets, dispatch_uid="test-marks-buckets")
    changes_committed.connect(on_commit, dispatch_uid="test-marks-committed")
    yield events
    buckets_changed.disconnect(dispatch_uid="test-marks-buckets")
    changes_committed.disconnect(dispatch_uid="test-marks-committed")


@pytest.mark.django_db
def test_marks_are_heard_at_once_and_the_commit_once_after(
    heard, places, django_capture_on_commit_callbacks
):
    first, second = places
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mark_changed(source=ChangeSource.OUTREACH, commune_days=[(first, DAY), (first, DAY)])
        mark_changed(source=ChangeSource.TRAININGS, commune_days=[(second, DAY)])
        assert ("committed",) not in heard
    assert heard == [
        ("buckets", ChangeSource.OUTREACH, {(first, DAY)}),
        ("buckets", ChangeSource.TRAININGS, {(second, DAY)}),
        ("committed",),
    ]


@pytest.mark.django_db
def test_buckets_without_a_place_or_a_day_are_not_marks(heard):
    assert mark_changed(source=ChangeSource.OUTREACH, commune_days=[(None, DAY), (7, None)]) == 0
    assert heard == []


@pytest.mark.django_db
def test_a_rolled_back_mark_is_not_announced_and_does_not_silence_the_next(
    heard, places, django_capture_on_commit_callbacks
):
    first, second = places
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            mark_changed(source=ChangeSource.OUTREACH, commune_days=[(first, DAY)])
            raise RuntimeError("this part of the change failed")
        assert ("committed",) not in heard
        mark_changed(source=ChangeSource.OUTREACH, commune_days=[(second, DAY)])
    assert heard[-1] == ("committed",)
    assert heard.count(("committed",)) == 1
