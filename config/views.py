"""Project-level pages: the public home page and the health check."""

import functools
import logging
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.scopes import scope_for
from communes.selectors import districts_with_commune_counts, province_get

logger = logging.getLogger(__name__)

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
