"""The roll-up's queue: the marks writers make (core/marks.py) recorded as PendingRollup
rows in their transaction, and the pending roll-up asked for, by the task's registered
name, once the transaction commits. Connected in DashboardConfig.ready."""

import logging

from celery import current_app
from django.conf import settings
from django.core.cache import cache

from core.cache import cache_available

from .models import PendingRollup

logger = logging.getLogger(__name__)

ROLLUP_TASK = "dashboard.rollup_pending"


# With a broker, the roll-up is asked for at most once per ROLLUP_DEBOUNCE_SECONDS: at
# twenty visits a second a run per change would start several runs a second, and each
# run renews every dashboard's cache. The first change of a quiet spell waits that long
# at most; the marks wait in the database meanwhile, and the worker's watch (it looks
# every few seconds and whenever it reconnects) asks again for a request that was lost.
ROLLUP_QUEUED_KEY = "rollup:queued"


def buckets_record(
    *, source, commune_days, district_days, province_days, also=None, **_kwargs
) -> None:
    """Receiver of core.marks.buckets_changed: the marks, in the writer's transaction,
    in one statement."""
    rows = [PendingRollup(commune_id=c, day=d, source=source) for c, d in commune_days]
    for other, cells in (also or {}).items():
        rows += [PendingRollup(commune_id=c, day=d, source=other) for c, d in cells]
    rows += [PendingRollup(district_id=c, day=d, source=source) for c, d in district_days]
    rows += [PendingRollup(day=d, source=source) for d in province_days]
    PendingRollup.objects.bulk_create(rows)


def rollup_queue(**_kwargs) -> None:
    """Ask for the pending roll-up (receiver of core.marks.changes_committed).

    A signature by name runs eagerly when Celery is in eager mode (send_task would
    not), at once. While the task is not registered, or the broker is down, the buckets
    simply wait in the database for the next run.
    """
    if ROLLUP_TASK not in current_app.tasks:
        logger.info("roll-up task %s not registered; buckets wait for the next run", ROLLUP_TASK)
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        current_app.signature(ROLLUP_TASK).apply_async()
        return
    # The cache is Redis, as the broker usually is: while it is known not to answer (or
    # has just made this form wait out a timeout, when add() answers False), publishing
    # would make the form wait out the broker's timeout too. The marks are in Postgres,
    # and the worker's watch asks for the roll-up once Redis answers again.
    if not cache_available():
        return
    delay = settings.ROLLUP_DEBOUNCE_SECONDS
    if not delay:
        current_app.signature(ROLLUP_TASK).apply_async()
    elif cache.add(ROLLUP_QUEUED_KEY, 1, timeout=delay):
        current_app.signature(ROLLUP_TASK).apply_async(countdown=delay)


def rollup_queue_reset() -> None:
    """Called by the roll-up as it starts: a change committed from now on asks for a run
    of its own, even if this one was asked for moments ago."""
    cache.delete(ROLLUP_QUEUED_KEY)
