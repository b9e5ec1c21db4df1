"""What the Celery worker adds to itself: a watch over the pending roll-up, and a broker
connection that is retried every few seconds.

Writers ask for the pending roll-up when they commit (communes/services.py), and that
request can be lost: the broker was down at that moment, or the worker that had taken
the task was killed, which leaves the task in the broker's unacknowledged set for the
visibility timeout (an hour). So the worker watches. At once whenever it connects to the
broker (it started, or Redis came back), and then every ROLLUP_WATCH_SECONDS, it records
its heartbeat (for /healthz/figures) and asks for the roll-up itself when changes wait:
on connecting, any; later, those that have waited longer than their own request takes.
Beat's five-minute run stays as the last resort.

The watch runs in the worker's main process, on the timer of its event loop: an upsert,
one query by the primary key's index, and, when it asks, a lock probe and a publish. The
roll-up itself always runs in the pool.
"""

import functools
import logging
import time
from datetime import timedelta

from celery import bootsteps
from celery.worker.consumer import Consumer as CeleryConsumer
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from . import rollup
from .models import ServiceHeartbeat
from .services import heartbeat_record
from .tasks import rollup_pending

logger = logging.getLogger(__name__)

# After asking, the watch leaves the run it asked for this long to start (it may wait
# behind a long task) before asking again; a second request would only queue an empty run.
ASK_AGAIN_AFTER_SECONDS = 30.0

# kombu waits up to 30 s between two attempts to reach a broker that is down; at most
# this long here, the worker is back within seconds of Redis, and its watch with it.
RECONNECT_MAX_INTERVAL = 5.0


def _overdue() -> timedelta:
    """How long a change's own request may take: its debounce, and a look or two of the
    watch to spare, so that the watch never doubles a request that is on its way."""
    return timedelta(seconds=settings.ROLLUP_DEBOUNCE_SECONDS + 2 * settings.ROLLUP_WATCH_SECONDS)


def rollup_watch(*, connected: bool = False, may_ask: bool = True) -> bool:
    """One look of the watch: record the worker's heartbeat and, if changes wait for the
    roll-up (any when the worker has just `connected`, else those past their own
    request's time) and no run holds the lock, ask for the pending roll-up. Returns
    whether it asked."""
    now = timezone.now()
    heartbeat_record(process=ServiceHeartbeat.Process.WORKER, seen_at=now)
    if not may_ask:
        return False
    waiting_since = rollup.pending_since()
    if waiting_since is None or (not connected and now - waiting_since < _overdue()):
        return False
    # A run under way takes what waits when it claims its next batch; what it leaves
    # (marked after its last claim) is asked for at the next look.
    if rollup.rollup_running():
        return False
    rollup_pending.delay()
    return True


class RollupWatch(bootsteps.StartStopStep):
    """The watch, as a step of Celery's consumer: started, and so run at once, each time
    the consumer has connected to the broker; stopped when it loses the connection (the
    event loop, and so the timer, stops while it reconnects)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.timer_entry = None
        self.asked_at: float | None = None
        self.failing = False

    def include_if(self, parent) -> bool:
        return settings.ROLLUP_WATCH_SECONDS > 0

    def start(self, parent) -> None:
        # A new connection: a request made before it may have been lost with the broker.
        self.asked_at = None
        self.look(connected=True)
        self.timer_entry = parent.timer.call_repeatedly(
            settings.ROLLUP_WATCH_SECONDS, self.look, priority=10
        )

    def stop(self, parent) -> None:
        if self.timer_entry is not None:
            parent.timer.cancel(self.timer_entry)
            self.timer_entry = None

    shutdown = stop

    def look(self, connected: bool = False) -> None:
        """Run the watch once; never raise into the event loop. A database or broker
        that fails is logged when it starts failing, and tried again at the next look."""
        may_ask = self.asked_at is None or (
            time.monotonic() - self.asked_at >= ASK_AGAIN_AFTER_SECONDS
        )
        try:
            # The main process keeps its connection between looks, as a request does.
            close_old_connections()
            asked = rollup_watch(connected=connected, may_ask=may_ask)
        except Exception as exc:
            if not self.failing:
                logger.warning(
                    "roll-up watch failed (%s); trying again every %s s",
                    type(exc).__name__,
                    settings.ROLLUP_WATCH_SECONDS,
                )
            self.failing = True
            return
        if self.failing:
            logger.warning("roll-up watch works again")
        self.failing = False
        if asked:
            self.asked_at = time.monotonic()
            logger.info("changes were waiting for the roll-up: asked for it")


class Consumer(CeleryConsumer):
    """Celery's consumer, retrying a broker that is down at most RECONNECT_MAX_INTERVAL
    apart (settings.CELERY_WORKER_CONSUMER). Celery passes kombu's defaults, whose wait
    grows to 30 s: after an outage of a few minutes the worker would find Redis back
    only up to half a minute later."""

    def ensure_connected(self, conn):
        conn.ensure_connection = functools.partial(
            conn.ensure_connection, interval_max=RECONNECT_MAX_INTERVAL
        )
        return super().ensure_connected(conn)
