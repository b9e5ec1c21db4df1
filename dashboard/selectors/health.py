"""Whether the dashboards' figures keep up with the changes, for monitoring
(/healthz/figures): in two queries by primary key or unique index, never the cache,
which may be what is down."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import ServiceHeartbeat
from ..rollup import figures_late, rollup_state_read


@dataclass(frozen=True)
class FiguresHealth:
    now: datetime
    pending_since: datetime | None  # the oldest change not counted yet; None: none
    last_rollup_at: datetime | None
    worker_seen_at: datetime | None
    beat_seen_at: datetime | None

    def age(self, moment: datetime | None) -> float | None:
        """Seconds from `moment` to now, as monitoring reads them."""
        return None if moment is None else round((self.now - moment).total_seconds(), 1)

    @property
    def figures_late(self) -> bool:
        return figures_late(self.pending_since, self.now)

    @property
    def worker_unseen(self) -> bool:
        """No worker has said it is alive within WORKER_SEEN_WITHIN_SECONDS. Without a
        broker the tasks run in the web process: there is no worker to see."""
        if not settings.REDIS_URL:
            return False
        within = timedelta(seconds=settings.WORKER_SEEN_WITHIN_SECONDS)
        return self.worker_seen_at is None or self.now - self.worker_seen_at > within


def figures_health() -> FiguresHealth:
    state = rollup_state_read()
    seen = dict(ServiceHeartbeat.objects.values_list("process", "seen_at"))
    return FiguresHealth(
        now=timezone.now(),
        pending_since=state.pending_since,
        last_rollup_at=state.last_run_at,
        worker_seen_at=seen.get(ServiceHeartbeat.Process.WORKER),
        beat_seen_at=seen.get(ServiceHeartbeat.Process.BEAT),
    )
