"""The roll-up tasks. dashboard/queue.py asks for `dashboard.rollup_pending` by name when
a writer's marks commit, the worker's watch when a request was lost (dashboard/worker.py);
beat runs it every five minutes as a last resort and `dashboard.rollup_full` nightly.

Both are safe to run twice or at once (see dashboard/rollup.py), so a redelivered task
(acks_late, reject on a lost worker) only redoes work. A database error is transient
here (a restart, a lock timeout): retry with backoff, capped.
"""

from dataclasses import asdict
from datetime import UTC, datetime

from celery import shared_task
from django.db import DatabaseError

from . import rollup
from .models import ServiceHeartbeat
from .queue import ROLLUP_TASK, rollup_queue_reset
from .services import heartbeat_record

RETRY = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 10,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@shared_task(name=ROLLUP_TASK, **RETRY)
def rollup_pending() -> dict:
    rollup_queue_reset()
    return asdict(rollup.rollup_pending())


@shared_task(name="dashboard.rollup_full", time_limit=3600, soft_time_limit=3500, **RETRY)
def rollup_full() -> dict:
    return asdict(rollup.rollup_full())


BEAT_HEARTBEAT_TASK = "dashboard.beat_heartbeat"


@shared_task(name=BEAT_HEARTBEAT_TASK)
def beat_heartbeat(sent_at: float) -> None:
    """Record beat's heartbeat as of `sent_at`, the Unix time beat sent this task (its
    argument, evaluated by beat when it sends): a worker that runs it late, after an
    outage of its own, still records when beat was last alive."""
    heartbeat_record(
        process=ServiceHeartbeat.Process.BEAT, seen_at=datetime.fromtimestamp(sent_at, tz=UTC)
    )
