"""The figures Prometheus scrapes at METRICS_PATH, for the monitoring host only.

Two parts. django-prometheus counts each gunicorn worker's requests, responses and their
latency; with PROMETHEUS_MULTIPROC_DIR set (the web unit sets it) every worker writes
them to files there and any worker's answer sums them all, so that a scrape that lands
on another worker does not see the counters jump back. The portal's own gauges are read
from the database when the page is scraped, the same whichever worker answers, in a
handful of cheap queries (pinned by config/tests/test_metrics.py).
"""

import ipaddress
import os
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from accounts.addresses import client_address
from accounts.middleware import without_session
from core.models import FileImport
from dashboard.models import PendingRollup, RollupState
from outreach.models import MemberImport, Visit
from trainings.models import CourseImport

# Below this many visits (by PostgreSQL's statistics) they are counted exactly; above,
# the statistics are the figure: a count(*) of millions of rows on every scrape would
# read the whole table, and a growth curve needs no exact unit.
VISITS_COUNTED_EXACTLY_BELOW = 100_000

IMPORTS = {"member": MemberImport, "course": CourseImport}
RUNNING = (FileImport.Status.CHECKING.value, FileImport.Status.APPLYING.value)


def from_monitoring_host(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_IPS)


def visits_stored() -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [Visit._meta.db_table],
            )
            # -1 until the table was first analysed.
            estimate = cursor.fetchone()[0]
        if estimate >= VISITS_COUNTED_EXACTLY_BELOW:
            return estimate
    return Visit.objects.count()


class PortalCollector:
    """The portal's gauges, read when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        pending = PendingRollup.objects.aggregate(marks=Count("pk"), oldest=Min("marked_at"))
        buckets = (
            PendingRollup.objects.values("commune", "district", "day", "source").distinct().count()
        )
        yield GaugeMetricFamily(
            "portal_rollup_pending_buckets",
            "(Place, day) buckets whose figures changed and wait for the dashboards' roll-up.",
            value=buckets,
        )
        oldest = pending["oldest"]
        yield GaugeMetricFamily(
            "portal_rollup_oldest_pending_age_seconds",
            "How long the oldest change the dashboards do not show yet has waited (0: none).",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        fields = (
            "last_run_at",
            "last_full_at",
            "last_run_seconds",
            "last_full_seconds",
            "facts_check_seconds",
            "facts_differences_last",
            "facts_differences_total",
        )
        state = RollupState.objects.filter(pk=1).values(*fields).first()
        state = state or dict.fromkeys(fields)
        for field, name, what in (
            ("last_run_at", "portal_rollup_last_run_timestamp_seconds", "any roll-up run"),
            ("last_full_at", "portal_rollup_last_full_timestamp_seconds", "the full rebuild"),
        ):
            finished = state[field]
            yield GaugeMetricFamily(
                name,
                f"When {what} last finished, in Unix time (0: never).",
                value=finished.timestamp() if finished else 0,
            )
        for field, name, what in (
            ("last_run_seconds", "portal_rollup_last_run_duration_seconds", "roll-up run"),
            ("last_full_seconds", "portal_rollup_last_full_duration_seconds", "full rebuild"),
        ):
            yield GaugeMetricFamily(
                name, f"How long the last {what} took (0: none yet).", value=state[field] or 0
            )
        yield GaugeMetricFamily(
            "portal_facts_check_duration_seconds",
            "How long the full run's check of the write-time facts took (0: none yet).",
            value=state["facts_check_seconds"] or 0,
        )
        yield GaugeMetricFamily(
            "portal_facts_differences_last",
            "Write-time facts the last check found different from the raw rows (a bug).",
            value=state["facts_differences_last"] or 0,
        )
        yield CounterMetricFamily(
            "portal_facts_differences",
            "Write-time facts found different from the raw rows and repaired, in all checks.",
            value=state["facts_differences_total"] or 0,
        )
        yield GaugeMetricFamily(
            "portal_visits_stored",
            f"Door-to-door visits stored (PostgreSQL's estimate from "
            f"{VISITS_COUNTED_EXACTLY_BELOW:,} on).",
            value=visits_stored(),
        )
        running = GaugeMetricFamily(
            "portal_imports_running",
            "File imports being checked or applied by a worker.",
            labels=["kind", "status"],
        )
        for kind, model in IMPORTS.items():
            counts = dict(
                model.objects.filter(status__in=RUNNING).values_list("status").annotate(Count("pk"))
            )
            for status in RUNNING:
                running.add_metric([kind, status], counts.get(status, 0))
        yield running


PORTAL = CollectorRegistry()
PORTAL.register(PortalCollector())


def _process_figures() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@without_session
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's text format, to the monitoring host; to anyone else the page does not
    exist, whoever they are logged in as."""
    if not from_monitoring_host(request):
        raise Http404
    body = _process_figures() + generate_latest(PORTAL)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
