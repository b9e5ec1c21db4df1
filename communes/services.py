"""Writes to the administrative units: loading the official list, admin edits."""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core.cache import cache_available

from .models import Commune, District, PendingRollup, Province, RollupSource

logger = logging.getLogger(__name__)

DIVISIONS_FILE = Path(__file__).resolve().parent / "data" / "nam_dinh_2023.json"


@dataclass
class DivisionsLoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _upsert(model, rows: dict[int, dict], result: DivisionsLoadResult) -> dict[int, object]:
    """Create the missing units and bring the official fields of the others in line.

    Only the fields in `rows` are compared and written, so anything else (the figures
    an admin entered) is never touched. Returns every unit by code.
    """
    existing = model.objects.in_bulk(list(rows), field_name="code")
    new = []
    for code, values in rows.items():
        obj = existing.get(code)
        if obj is None:
            obj = model(code=code, **values)
            obj.derive()  # bulk_create does not call save()
            # Uniqueness is the file's and the database's to keep; the rest is checked.
            obj.full_clean(validate_unique=False, validate_constraints=False)
            new.append(obj)
            continue
        changed = [field for field, value in values.items() if getattr(obj, field) != value]
        if changed:
            for field in changed:
                setattr(obj, field, values[field])
            obj.full_clean(validate_unique=False, validate_constraints=False)
            obj.save(update_fields=changed)
            result.updated += 1
        else:
            result.unchanged += 1
    model.objects.bulk_create(new)
    result.created += len(new)
    return model.objects.in_bulk(list(rows), field_name="code")


@transaction.atomic
def divisions_load(*, path: Path = DIVISIONS_FILE) -> DivisionsLoadResult:
    """Load the province, its districts and communes from the shipped data file.

    Idempotent: a second run changes nothing. Only the official code, name, kind and
    parent are written, so figures an admin entered (population, households, status)
    are never overwritten.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    result = DivisionsLoadResult()
    p = data["province"]
    province = _upsert(Province, {p["code"]: {"name": p["name"]}}, result)[p["code"]]
    districts = _upsert(
        District,
        {
            d["code"]: {"name": d["name"], "kind": d["kind"], "province_id": province.pk}
            for d in data["districts"]
        },
        result,
    )
    _upsert(
        Commune,
        {
            c["code"]: {
                "name": c["name"],
                "kind": c["kind"],
                "district_id": districts[d["code"]].pk,
            }
            for d in data["districts"]
            for c in d["communes"]
        },
        result,
    )
    return result


@transaction.atomic
def commune_save(*, commune: Commune, figures_entered: bool) -> Commune:
    """Validate and save a commune edited by an admin (form or import).

    Figures an admin enters stop being demo figures, so seed_demo leaves them alone.
    """
    if figures_entered:
        commune.figures_are_demo = False
    commune.full_clean()
    commune.save()
    return commune


ROLLUP_TASK = "dashboard.rollup_pending"


# With a broker, the roll-up is asked for at most once per ROLLUP_DEBOUNCE_SECONDS: at
# twenty visits a second a run per change would start several runs a second, and each
# run renews every dashboard's cache. The first change of a quiet spell waits that long
# at most; the marks wait in the database meanwhile, and the worker's watch (it looks
# every few seconds and whenever it reconnects) asks again for a request that was lost.
ROLLUP_QUEUED_KEY = "rollup:queued"


def _rollup_queue() -> None:
    """Ask for the pending roll-up, by the task's registered name.

    A signature by name runs eagerly when Celery is in eager mode (send_task would
    not), at once. Until the dashboard app registers the task, or while the broker is
    down, the buckets simply wait in the database for the next run.
    """
    from celery import current_app

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


def rollup_buckets_mark(
    *,
    source: RollupSource,
    commune_days: Iterable[tuple[int, date]] = (),
    district_days: Iterable[tuple[int, date]] = (),
    province_days: Iterable[date] = (),
) -> int:
    """Record which (commune, day), (district, day) and province-day buckets a change touched,
    and whether outreach or training figures changed.

    Call inside the writer's transaction: the marks commit or roll back with the
    change. The roll-up is queued on commit; a broker that is down is logged, never
    raised to the user (the beat safety net picks the buckets up later).
    """
    rows = [
        PendingRollup(commune_id=c, day=d, source=source) for c, d in set(commune_days) if c and d
    ]
    rows += [
        PendingRollup(district_id=c, day=d, source=source) for c, d in set(district_days) if c and d
    ]
    rows += [PendingRollup(day=d, source=source) for d in set(province_days) if d]
    if not rows:
        return 0
    PendingRollup.objects.bulk_create(rows)
    # One request per transaction is enough, however many changes it marked (an import
    # of 20,000 rows marks 20,000 times).
    connection = transaction.get_connection()
    queued = any(func is _rollup_queue for _savepoints, func, _robust in connection.run_on_commit)
    if not (connection.in_atomic_block and queued):
        transaction.on_commit(_rollup_queue, robust=True)
    return len(rows)
