"""Project-level pages: the public home page, the health check and the error pages."""

import functools
import logging
import sys
import time

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.decorators import PermissionNeeded
from accounts.middleware import without_session
from accounts.roles import roles_with
from accounts.scopes import scope_for
from communes.selectors import districts_with_commune_counts, province_get

logger = logging.getLogger(__name__)

# What the database says when it is away: refused, restarting, a connection cut.
DATABASE_AWAY = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 10

# /healthz must answer within 3 seconds even when Redis hangs: one second for each check.
HEALTH_TIMEOUT = 1.0


@require_GET
def home(request):
    province = province_get()
    districts = list(districts_with_commune_counts(province)) if province else []
    context = {
        "province": province,
        "districts": districts,
        "commune_total": sum(d.commune_count for d in districts),
    }
    if request.user.is_authenticated:
        context["user_scope"] = scope_for(request.user)
        context["user_commune_count"] = context["user_scope"].communes().count()
    return render(request, "home.html", context)


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure is the answer, not a crash
        logger.warning("health check: database does not answer: %s", type(exc).__name__)
        return type(exc).__name__
    return None


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
        logger.warning("health check: broker does not answer: %s", type(exc).__name__)
        return type(exc).__name__
    return None


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
    return JsonResponse(body, status=503 if failing else 200)


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
