"""Visits' own trail (VisitChange) moves into the one audit trail (accounts.AuditEntry).

Every row becomes an entry with the same actor, time, action and content, on the visit's
content type and number (deleted visits included), in its team's commune. The next
migration drops VisitChange; going back copies the entries into it again.
"""

from datetime import date

from django.db import migrations

CHUNK = 2000
WRITES = ("created", "changed", "deleted")


def _repr(address_label, visited_on):
    # As Visit.__str__ reads (the household, then the day) when this migration was written.
    return f"{address_label} {visited_on:%d/%m/%Y}"[:200]


def _visit_type(apps):
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type, _created = ContentType.objects.get_or_create(app_label="outreach", model="visit")
    return content_type


def _keep_times(model, field, rows, times):
    """bulk_create stamps `field` with the time of the copy (auto_now_add); the times the
    rows were first written are put back in one more statement (bulk_update keeps them)."""
    for row, at in zip(rows, times, strict=True):
        setattr(row, field, at)
    model.objects.bulk_update(rows, [field], batch_size=CHUNK)


def _names_of_gone_visits(VisitChange, numbers):
    """A deleted visit's name, from the content its deletion (or creation) recorded."""
    names = {}
    rows = VisitChange.objects.filter(visit_number__in=numbers, action__in=("created", "deleted"))
    for number, action, changes in rows.order_by("id").values_list(
        "visit_number", "action", "changes"
    ):
        if isinstance(changes.get("household"), str) and changes.get("visited_on"):
            name = _repr(changes["household"], date.fromisoformat(changes["visited_on"]))
            if action == "deleted" or number not in names:
                names[number] = name
    return names


def visit_changes_copy(apps, schema_editor):
    VisitChange = apps.get_model("outreach", "VisitChange")
    Visit = apps.get_model("outreach", "Visit")
    AuditEntry = apps.get_model("accounts", "AuditEntry")
    if not VisitChange.objects.exists():
        return
    content_type = _visit_type(apps)
    rows = VisitChange.objects.order_by("id").values_list(
        "id",
        "visit_number",
        "action",
        "changed_by_id",
        "changed_at",
        "changes",
        "team__commune_id",
    )
    last = 0
    while True:
        chunk = list(rows.filter(id__gt=last)[:CHUNK])
        if not chunk:
            return
        last = chunk[-1][0]
        numbers = {row[1] for row in chunk}
        names = {
            pk: _repr(address_label, visited_on)
            for pk, address_label, visited_on in Visit.objects.filter(pk__in=numbers).values_list(
                "pk", "household__address_label", "visited_on"
            )
        }
        gone = numbers - set(names)
        if gone:
            names.update(_names_of_gone_visits(VisitChange, gone))
        entries = [
            AuditEntry(
                actor_id=actor_id,
                action=action,
                content_type=content_type,
                object_id=number,
                object_repr=names.get(number, f"#{number}"),
                commune_id=commune_id,
                changes=changes,
            )
            for _id, number, action, actor_id, _at, changes, commune_id in chunk
        ]
        AuditEntry.objects.bulk_create(entries)
        _keep_times(AuditEntry, "at", entries, [row[4] for row in chunk])


def visit_changes_restore(apps, schema_editor):
    """Back to VisitChange: each visit's writes in the audit trail, its team from the
    visit, or for a deleted one from what its creation or deletion recorded."""
    VisitChange = apps.get_model("outreach", "VisitChange")
    Visit = apps.get_model("outreach", "Visit")
    AuditEntry = apps.get_model("accounts", "AuditEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type = ContentType.objects.filter(app_label="outreach", model="visit").first()
    if content_type is None:
        return
    entries = AuditEntry.objects.filter(content_type=content_type, action__in=WRITES)
    # The entries are the trail now (VisitChange is empty after the next migration went
    # back, and outdated if only this one is undone): the table is rebuilt from them.
    VisitChange.objects.all().delete()
    numbers = set(entries.values_list("object_id", flat=True))
    teams = dict(Visit.objects.filter(pk__in=numbers).values_list("pk", "team_id"))
    existing = set(teams)
    for number, changes in entries.filter(action__in=("created", "deleted")).values_list(
        "object_id", "changes"
    ):
        if number not in teams and isinstance(changes.get("team"), int):
            teams[number] = changes["team"]
    rows, times = [], []
    for entry in entries.order_by("id").iterator(chunk_size=CHUNK):
        if entry.object_id not in teams:
            continue  # no team to put it under: it stays in the audit trail
        rows.append(
            VisitChange(
                visit_id=entry.object_id if entry.object_id in existing else None,
                visit_number=entry.object_id,
                team_id=teams[entry.object_id],
                action=entry.action,
                changed_by_id=entry.actor_id,
                changes=entry.changes,
            )
        )
        times.append(entry.at)
    if rows:
        VisitChange.objects.bulk_create(rows, batch_size=CHUNK)
        _keep_times(VisitChange, "changed_at", rows, times)
    entries.filter(object_id__in=[row.visit_number for row in rows]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_history_and_data_officers"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("outreach", "0007_household_address_key"),
    ]

    operations = [migrations.RunPython(visit_changes_copy, visit_changes_restore)]
