"""Project-level pages: the public home page, the health check and the error pages."""

import functools
import logging
import sys
import threading
import time

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils.translation import gettext as _
from django.views import csrf
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.decorators import PermissionNeeded, json_requested
from accounts.middleware import without_session
from accounts.models import ScopeLevel
from accounts.roles import roles_with
from accounts.scopes import scope_for
from communes.selectors import districts_with_commune_counts, province_get
from dashboard.selectors.health import figures_health

from . import landing

logger = logging.getLogger(__name__)

# What the database says when it is away: refused, restarting, a connection cut.
DATABASE_AWAY = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 10

# /healthz must answer within 3 seconds even when Redis hangs: one second for each check.
HEALTH_TIMEOUT = 1.0


@require_GET
def home(request):
    """The campaign's public page. A signed-in user is sent where their work is
    (config/landing.py); a team leader's is here, their team's page. A login that sees
    nothing stays on this page, which tells them so."""
    scope = scope_for(request.user)
    if scope.level == ScopeLevel.TEAM:
        return landing.team_home(request)
    if not scope.sees_nothing:
        return redirect(landing.landing_url(request.user))
    province = province_get()
    districts = list(districts_with_commune_counts(province)) if province else []
    # The total row adds up every column of the districts' table.
    totals = {
        name: sum(getattr(d, name) for d in districts)
        for name in ("commune_count", "rural_commune_count", "ward_count", "township_count")
    }
    context = {
        "province": province,
        "districts": districts,
        "totals": totals,
        "commune_total": totals["commune_count"],
    }
    if request.user.is_authenticated:
        context["user_scope"] = scope
        context["user_commune_count"] = context["user_scope"].communes().count()
    return render(request, "home.html", context)


# Set while this process's checks of a service fail. A load balancer checks every few
# seconds: an outage is worth a line when it starts and one when it ends, not one a check.
_failing = {"database": threading.Event(), "broker": threading.Event()}


def _noted(service: str, error: str | None) -> str | None:
    failing = _failing[service]
    if error and not failing.is_set():
        failing.set()
        logger.warning("health check: %s does not answer: %s", service, error)
    elif not error and failing.is_set():
        failing.clear()
        logger.warning("health check: %s answers again", service)
    return error


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure is the answer, not a crash
        return _noted("database", type(exc).__name__)
    return _noted("database", None)


@functools.cache
def _broker_client(url: str) -> redis.Redis:
    """One client per process, whose pool keeps its connection: a check every few
    seconds from a load balancer must not open a connection each time."""
    return redis.Redis.from_url(
        url,
        socket_timeout=HEALTH_TIMEOUT,
        socket_connect_timeout=HEALTH_TIMEOUT,
        # redis-py retries ten times by default, which would outlast the time limit.
        retry=Retry(NoBackoff(), 0),
    )


def _check_broker() -> str | None:
    if not settings.REDIS_URL:
        return None
    try:
        _broker_client(settings.REDIS_URL).ping()
    except Exception as exc:
        return _noted("broker", type(exc).__name__)
    return _noted("broker", None)


@without_session
@never_cache
@require_GET
def healthz(request):
    started = time.monotonic()
    database_error = _check_database()
    broker_error = _check_broker()
    checks = {
        "database": {"ok": database_error is None, "error": database_error},
        "broker": {
            "ok": broker_error is None,
            "error": broker_error,
            # With no REDIS_URL tasks run in the web process: nothing to reach.
            "mode": "redis" if settings.REDIS_URL else "eager",
        },
    }
    failing = [name for name, check in checks.items() if not check["ok"]]
    body = {
        "status": "ok" if not failing else "fail",
        "failing": failing,
        "checks": checks,
        "seconds": round(time.monotonic() - started, 3),
    }
    response = JsonResponse(body, status=503 if failing else 200)
    # Django would log each 503 as an ERROR (django.utils.log.log_response): one a check.
    # The checks above log a failure when it starts and when it ends instead.
    response._has_been_logged = True
    return response


def _moment(value) -> str | None:
    return value.isoformat() if value else None


@without_session
@never_cache
@require_GET
def healthz_figures(request):
    """For monitoring, not the load balancer: whether the dashboards' figures keep up.
    503 once a change has waited for the roll-up longer than FIGURES_STALE_AFTER_SECONDS
    or no worker has been seen for WORKER_SEEN_WITHIN_SECONDS (beat's heartbeat is
    reported, never failed on: the worker catches up without it). Times, no names."""
    health = figures_health()
    checks = {"figures": not health.figures_late, "worker": not health.worker_unseen}
    failing = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "ok" if not failing else "fail",
        "failing": failing,
        "oldest_pending_age_seconds": health.age(health.pending_since),
        "last_rollup_at": _moment(health.last_rollup_at),
        "worker_seen_at": _moment(health.worker_seen_at),
        "worker_seen_age_seconds": health.age(health.worker_seen_at),
        "beat_seen_at": _moment(health.beat_seen_at),
        "beat_seen_age_seconds": health.age(health.beat_seen_at),
        # With no REDIS_URL tasks run in the web process: there is no worker to see.
        "mode": "redis" if settings.REDIS_URL else "eager",
        "thresholds": {
            "figures_stale_after_seconds": settings.FIGURES_STALE_AFTER_SECONDS,
            "worker_seen_within_seconds": settings.WORKER_SEEN_WITHIN_SECONDS,
        },
    }
    response = JsonResponse(body, status=503 if failing else 200)
    # A 503 here is an answer monitoring reads every minute, not an error of the portal's:
    # Django would log each one as an ERROR (django.utils.log.log_response).
    response._has_been_logged = True
    return response


def server_error(request):
    """Django's 500 handler, in the page's language. A database that is away (restarting,
    refusing connections) answers 503 with Retry-After, so that a phone's user knows to
    send the form again and a load balancer to try later. Rendered without the request:
    its user and session would be read from the database."""
    if isinstance(sys.exc_info()[1], DATABASE_AWAY):
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(loader.render_to_string("500.html"), status=500)


def permission_denied(request, exception):
    """Django's 403 handler, in the page's language: why, when the refusal says (a
    service's message), and which roles may, when a page's permission was missing."""
    permission = exception.permission if isinstance(exception, PermissionNeeded) else None
    context = {
        "reason": str(exception),
        "permission": permission,
        "roles": roles_with(permission) if permission else [],
    }
    return HttpResponse(loader.render_to_string("403.html", context), status=403)


def csrf_failure(request, reason=""):
    """A refused CSRF check (settings.CSRF_FAILURE_VIEW). The phone's outbox asks for
    JSON: it is told so in JSON, then fetches a fresh token and sends the visit again.
    Anyone else gets Django's page, as before."""
    if json_requested(request):
        message = _(
            "The portal could not check that this was sent from its own page. Send it again."
        )
        return JsonResponse({"status": "csrf", "reason": message}, status=403)
    return csrf.csrf_failure(request, reason)
