"""Writes to the administrative units: loading the official list, admin edits."""

import json
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from core.marks import ChangeSource, mark_changed
from core.signals import bulk_written

from .models import Commune, District, Province

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
    if new:
        # bulk_create sends no post_save: what is cached of the units is renewed by this.
        bulk_written.send(sender=model)
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


# What the dashboards read of a commune (its code, name and district, its households for
# the coverage, its status for the priority communes, and the figures they may come to
# read): they read them with the units, cached under the key each roll-up publishes, so
# a change of any of them shows once a run has published a new one.
DASHBOARD_FIELDS = ("code", "name", "district_id", *Commune.FIGURE_FIELDS)


@transaction.atomic
def commune_save(*, commune: Commune, figures_entered: bool) -> Commune:
    """Validate and save a commune edited by an admin (form or import).

    Figures an admin enters stop being demo figures, so seed_demo leaves them alone. A
    change the dashboards show is marked as the commune's outreach figures of today: its
    coverage is households reached over households, and the run that recomputes the
    bucket publishes the new key the dashboards' cached units are read under.
    """
    if figures_entered:
        commune.figures_are_demo = False
    commune.full_clean()
    before = (
        Commune.objects.filter(pk=commune.pk).values_list(*DASHBOARD_FIELDS).first()
        if commune.pk
        else None
    )
    commune.save()
    if before != tuple(getattr(commune, field) for field in DASHBOARD_FIELDS):
        mark_changed(
            source=ChangeSource.OUTREACH, commune_days=[(commune.pk, timezone.localdate())]
        )
    return commune
