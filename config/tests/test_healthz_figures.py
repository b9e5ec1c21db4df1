"""GET /healthz/figures: for monitoring, whether the dashboards' figures keep up with the
changes. 503 when a change has waited for the roll-up past FIGURES_STALE_AFTER_SECONDS,
or no worker has been seen for WORKER_SEEN_WITHIN_SECONDS; beat is reported only."""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from communes.models import Commune
from core.marks import ChangeSource
from dashboard.models import PendingRollup, RollupState, ServiceHeartbeat

URL = "/healthz/figures"
# With a broker, the check looks for a worker. It never talks to Redis itself: any URL.
A_BROKER = "redis://127.0.0.1:1/0"


def mark(*, waited: dt.timedelta) -> None:
    row = PendingRollup.objects.create(
        commune=Commune.objects.get(code=14269), day=timezone.localdate(), source="outreach"
    )
    PendingRollup.objects.filter(pk=row.pk).update(marked_at=timezone.now() - waited)


def heartbeat(process: str, *, ago: dt.timedelta) -> dt.datetime:
    seen_at = timezone.now() - ago
    ServiceHeartbeat.objects.create(process=process, seen_at=seen_at)
    return seen_at


@pytest.mark.django_db
def test_with_nothing_waiting_it_answers_200_with_the_times_and_thresholds(client):
    run = timezone.now() - dt.timedelta(minutes=3)
    RollupState.objects.update_or_create(pk=1, defaults={"last_run_at": run})
    beat = heartbeat("beat", ago=dt.timedelta(seconds=40))

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert body["oldest_pending_age_seconds"] is None
    assert dt.datetime.fromisoformat(body["last_rollup_at"]) == run
    assert dt.datetime.fromisoformat(body["beat_seen_at"]) == beat
    assert 40 <= body["beat_seen_age_seconds"] < 45
    assert body["worker_seen_at"] is None  # no broker in the tests: no worker to see
    assert body["mode"] == "eager"
    assert body["thresholds"] == {
        "figures_stale_after_seconds": 600,
        "worker_seen_within_seconds": 120,
    }


@pytest.mark.django_db
def test_a_change_waiting_past_the_threshold_answers_503(client, divisions):
    mark(waited=dt.timedelta(minutes=11))
    mark(waited=dt.timedelta(minutes=2))
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["failing"] == ["figures"]
    assert 660 <= body["oldest_pending_age_seconds"] < 670


@pytest.mark.django_db
def test_a_change_waiting_less_than_the_threshold_is_healthy(client, divisions):
    mark(waited=dt.timedelta(minutes=9))
    response = client.get(URL)
    assert response.status_code == 200
    assert 540 <= response.json()["oldest_pending_age_seconds"] < 550


@pytest.mark.django_db
def test_the_threshold_comes_from_the_settings(client, divisions, settings):
    settings.FIGURES_STALE_AFTER_SECONDS = 60
    mark(waited=dt.timedelta(minutes=2))
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["thresholds"]["figures_stale_after_seconds"] == 60


@pytest.mark.django_db
def test_with_a_broker_and_no_worker_ever_seen_it_answers_503(client, settings):
    settings.REDIS_URL = A_BROKER
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]
    assert response.json()["mode"] == "redis"


@pytest.mark.django_db
def test_a_worker_seen_within_two_minutes_is_healthy_and_one_gone_longer_is_not(client, settings):
    settings.REDIS_URL = A_BROKER
    seen_at = heartbeat("worker", ago=dt.timedelta(seconds=110))
    response = client.get(URL)
    assert response.status_code == 200, response.json()
    assert dt.datetime.fromisoformat(response.json()["worker_seen_at"]) == seen_at

    ServiceHeartbeat.objects.filter(process="worker").update(
        seen_at=timezone.now() - dt.timedelta(seconds=130)
    )
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]


@pytest.mark.django_db
def test_both_failures_are_named(client, divisions, settings):
    settings.REDIS_URL = A_BROKER
    mark(waited=dt.timedelta(hours=1))
    heartbeat("worker", ago=dt.timedelta(hours=1))
    assert client.get(URL).json()["failing"] == ["figures", "worker"]


@pytest.mark.django_db
def test_beat_unseen_is_reported_but_not_a_failure(client, settings):
    settings.REDIS_URL = A_BROKER
    heartbeat("worker", ago=dt.timedelta(seconds=3))
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["beat_seen_at"] is None


@pytest.mark.django_db
def test_its_503_is_not_logged_as_an_error_each_time(client, divisions, caplog):
    mark(waited=dt.timedelta(hours=1))
    with caplog.at_level(logging.INFO, logger="django.request"):
        for _ in range(3):
            assert client.get(URL).status_code == 503
    assert not [r for r in caplog.records if r.name == "django.request"]


@pytest.mark.django_db
def test_it_reads_no_session_nor_user_and_makes_two_queries(
    client, divisions, django_assert_num_queries
):
    """The oldest change with the roll-up's state, then the heartbeats: a logged-in
    caller's session is never read."""
    client.force_login(UserFactory())
    RollupState.objects.get_or_create(pk=1)
    mark(waited=dt.timedelta(minutes=1))
    with django_assert_num_queries(2):
        assert client.get(URL).status_code == 200


@pytest.mark.django_db
def test_it_is_answered_over_plain_http_behind_the_https_redirect(client, settings):
    """Monitoring may call the portal directly, as the load balancer does /healthz."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(URL).status_code == 200
    assert client.get("/").status_code == 301


@pytest.mark.django_db
def test_it_names_no_place_and_no_person(client, divisions):
    mark(waited=dt.timedelta(hours=1))
    assert ChangeSource.OUTREACH not in client.get(URL).content.decode()
    assert "14269" not in client.get(URL).content.decode()
