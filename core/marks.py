"""Which figures a change touched: the one function writers call to say so.

A writer (a visit, a team dissolved, a training session, an import) calls
`mark_changed` inside its transaction with the (commune, day), (district, day) and
province-day buckets its change touched. This module knows no summary table, no task and
no dashboard: it sends `buckets_changed` at once, inside the writer's transaction, so a
receiver can record the marks with the change (they commit or roll back together), and
`changes_committed` once after that transaction commits, however many marks it made, so
a receiver can ask for its work then. The dashboard connects both (dashboard/queue.py).
"""

import threading
import weakref
from collections.abc import Iterable, Mapping
from datetime import date

from django.db import models, transaction
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _


class ChangeSource(models.TextChoices):
    """Which figures changed: a visit never changes who was trained in the year."""

    OUTREACH = "outreach", _("Outreach")
    # Teams formed or dissolved, members who joined or left: outreach's figures too,
    # and the roster's, which visits never change.
    ROSTER = "roster", _("Teams and members")
    TRAININGS = "trainings", _("Trainings")
    # Households' current checklist answers: recounted only when one changed.
    READINESS = "readiness", _("Readiness")


# Sent inside the writer's transaction with source=, commune_days=, district_days=,
# province_days= (sets) and also= (other sources' commune days), not all empty.
buckets_changed = Signal()
# Sent once after a transaction that marked anything commits (no arguments).
changes_committed = Signal()

_local = threading.local()


class _Announcement:
    """The on-commit call of one transaction's marks: registered once, however many marks
    the transaction makes (an import of 20,000 rows marks 20,000 times)."""

    def __init__(self) -> None:
        self.sent = False
        # Django names a failing robust on-commit call by its __qualname__ in the log.
        self.__qualname__ = "core.marks.changes_committed"

    def __call__(self) -> None:
        self.sent = True
        changes_committed.send(sender=ChangeSource)


def _announce_on_commit() -> None:
    # Only Django's list of on-commit calls holds the announcement; this module keeps a
    # weak reference. A rollback (of the transaction, or of the savepoint the call was
    # registered in) drops the call from that list, so the reference dies and the next
    # mark registers a new one; a commit runs it and it is sent. Django offers no public
    # way to ask whether a call is already registered.
    ref = getattr(_local, "announcement", None)
    pending = ref() if ref is not None else None
    if pending is None or pending.sent:
        pending = _Announcement()
        transaction.on_commit(pending, robust=True)
        _local.announcement = weakref.ref(pending)


def mark_changed(
    *,
    source: ChangeSource,
    commune_days: Iterable[tuple[int, date]] = (),
    district_days: Iterable[tuple[int, date]] = (),
    province_days: Iterable[date] = (),
    also: Mapping[ChangeSource, Iterable[tuple[int, date]]] | None = None,
) -> int:
    """Say which buckets a change touched; returns how many. Call inside the writer's
    transaction. Buckets with no place or no day are left out.

    `also`: (commune, day) buckets of other sources the same change touched (a visit
    that changed a household's checklist), heard in the same signal so that a receiver
    records them with the others at once."""
    communes = {(c, d) for c, d in commune_days if c and d}
    districts = {(c, d) for c, d in district_days if c and d}
    days = {d for d in province_days if d}
    more = {
        other: cells
        for other, buckets in (also or {}).items()
        if (cells := {(c, d) for c, d in buckets if c and d})
    }
    count = len(communes) + len(districts) + len(days) + sum(map(len, more.values()))
    if not count:
        return 0
    buckets_changed.send(
        sender=ChangeSource,
        source=source,
        commune_days=communes,
        district_days=districts,
        province_days=days,
        also=more,
    )
    _announce_on_commit()
    return count
