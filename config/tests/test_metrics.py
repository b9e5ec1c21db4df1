"""The Prometheus figures at METRICS_PATH: the portal's gauges, to the monitoring host only."""

import datetime as dt
import ipaddress
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from communes.models import Commune
from config import metrics
from core.models import FileImport
from dashboard.models import PendingRollup, RollupState
from dashboard.rollup import rollup_full
from outreach.models import MemberImport, Visit
from outreach.services import visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from trainings.models import CourseImport

from .test_settings import _run_settings

MONITORING_HOST = "192.0.2.10"


def _samples(response) -> dict[tuple, float]:
    """{(name, label values...): value} for every sample of the page."""
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, *sample.labels.values()): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _visits(days: list[dt.date]) -> None:
    """One visit to a new household on each day, as a team leader's form records it."""
    admin = UserFactory(is_superuser=True, is_staff=True)
    team = TeamFactory(commune=Commune.objects.get(code=14269))
    leader = MemberFactory(team=team)
    hamlet = HamletFactory(commune=team.commune)
    for n, day in enumerate(days):
        visit_record(
            by=admin,
            team=team,
            submission_id=uuid.uuid4(),
            hamlet=hamlet,
            address_label=f"Số {n}, ngõ 5",
            data=VisitData(visited_on=day, members=[leader]),
        )


@pytest.mark.django_db
def test_the_monitoring_host_reads_the_backlog_the_last_runs_the_visits_and_running_imports(
    client, divisions, django_assert_num_queries
):
    today = timezone.localdate()
    # Three visits on two days: two buckets wait for the roll-up, the oldest since 10 min.
    _visits([today, today, today - dt.timedelta(days=1)])
    oldest = PendingRollup.objects.order_by("pk").first()
    PendingRollup.objects.filter(pk=oldest.pk).update(
        marked_at=timezone.now() - dt.timedelta(minutes=10)
    )
    finished = timezone.now() - dt.timedelta(hours=1)
    RollupState.objects.update_or_create(
        pk=1, defaults={"last_run_at": finished, "last_run_seconds": 1.25}
    )
    uploader = UserFactory()
    for model, status in (
        (MemberImport, FileImport.Status.CHECKING),
        (MemberImport, FileImport.Status.DONE),
        (CourseImport, FileImport.Status.APPLYING),
        (CourseImport, FileImport.Status.APPLYING),
    ):
        model.objects.create(created_by=uploader, file_name="a.csv", content=b"x", status=status)

    # Cheap on every scrape: a fixed handful of queries, whatever the tables hold.
    with django_assert_num_queries(7):
        response = client.get(reverse("metrics"))

    assert response.status_code == 200
    figures = _samples(response)
    assert figures[("portal_rollup_pending_buckets",)] == 2
    assert 600 <= figures[("portal_rollup_oldest_pending_age_seconds",)] < 660
    assert figures[("portal_rollup_last_run_timestamp_seconds",)] == finished.timestamp()
    assert figures[("portal_rollup_last_full_timestamp_seconds",)] == 0
    assert figures[("portal_rollup_last_run_duration_seconds",)] == 1.25
    assert figures[("portal_rollup_last_full_duration_seconds",)] == 0
    assert figures[("portal_visits_stored",)] == 3
    assert figures[("portal_imports_running", "member", "checking")] == 1
    assert figures[("portal_imports_running", "member", "applying")] == 0
    assert figures[("portal_imports_running", "course", "applying")] == 2
    # django-prometheus's own, per view.
    assert any(key[0] == "django_http_requests_total_by_method_total" for key in figures)


@pytest.mark.django_db
def test_with_nothing_pending_the_backlog_reads_zero(client, divisions):
    response = client.get(reverse("metrics"))

    figures = _samples(response)
    assert figures[("portal_rollup_pending_buckets",)] == 0
    assert figures[("portal_rollup_oldest_pending_age_seconds",)] == 0
    assert figures[("portal_rollup_last_run_timestamp_seconds",)] == 0


@pytest.mark.django_db
def test_once_visits_are_many_they_are_read_from_postgresql_statistics(
    client, divisions, monkeypatch
):
    _visits([timezone.localdate()] * 4)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Visit._meta.db_table}")
    monkeypatch.setattr(metrics, "VISITS_COUNTED_EXACTLY_BELOW", 2)

    with pytest.MonkeyPatch.context() as patch:
        # Proves the figure is the statistics': counting the rows is not allowed here.
        patch.setattr(Visit.objects, "count", lambda: pytest.fail("counted the visits"))
        figures = _samples(client.get(reverse("metrics")))

    assert figures[("portal_visits_stored",)] == 4


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "staff", "superuser"])
def test_from_any_other_address_the_figures_do_not_exist_whoever_asks(client, who):
    if who != "anonymous":
        client.force_login(UserFactory(is_staff=True, is_superuser=who == "superuser"))

    response = client.get(reverse("metrics"), REMOTE_ADDR="203.0.113.5")

    assert response.status_code == 404
    assert b"portal_" not in response.content and b"django_http" not in response.content


@pytest.mark.django_db
@override_settings(
    BEHIND_HTTPS_PROXY=True, METRICS_ALLOWED_IPS=[ipaddress.ip_network(MONITORING_HOST)]
)
def test_behind_nginx_the_address_nginx_added_decides_not_what_the_caller_wrote(client):
    url = reverse("metrics")
    # nginx connects from 127.0.0.1 and appends the caller's address to X-Forwarded-For.
    via_nginx = {"REMOTE_ADDR": "127.0.0.1"}

    forged = client.get(url, HTTP_X_FORWARDED_FOR=f"{MONITORING_HOST}, 203.0.113.5", **via_nginx)
    nginx_itself = client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.5", **via_nginx)
    monitoring = client.get(url, HTTP_X_FORWARDED_FOR=f"10.1.1.1, {MONITORING_HOST}", **via_nginx)

    assert forged.status_code == 404
    assert nginx_itself.status_code == 404
    assert monitoring.status_code == 200


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_IPS=[ipaddress.ip_network(MONITORING_HOST)])
def test_without_a_proxy_a_forwarded_for_header_is_not_believed(client):
    response = client.get(
        reverse("metrics"), REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=MONITORING_HOST
    )

    assert response.status_code == 404


def test_a_mistyped_monitoring_address_stops_the_start():
    result = _run_settings(
        {"DEBUG": "true", "METRICS_ALLOWED_IPS": "127.0.0.1,10.0.0.300"},
        "from django.conf import settings; print(settings.METRICS_ALLOWED_IPS)",
    )

    assert result.returncode != 0
    assert "10.0.0.300" in result.stderr


@pytest.mark.django_db
def test_a_roll_up_says_how_long_it_took(client, divisions):
    rollup_full()

    figures = _samples(client.get(reverse("metrics")))
    assert figures[("portal_rollup_last_full_duration_seconds",)] > 0
    assert (
        figures[("portal_rollup_last_run_duration_seconds",)]
        == figures[("portal_rollup_last_full_duration_seconds",)]
    )
    # Before it, the check of the write-time facts: timed, and nothing found.
    assert figures[("portal_facts_check_duration_seconds",)] > 0
    assert figures[("portal_facts_differences_last",)] == 0
    assert figures[("portal_facts_differences_total",)] == 0
