"""The members still active in teams dissolved before team_dissolve made them leave.

They leave on the day their team was dissolved (or on the day they joined, for those
recorded as joining later), as team_dissolve records it: their logins stop working, the
audit trail says what changed, and the (commune, day) buckets are marked for the roll-up
so that the dashboards stop counting them.
"""

from collections import defaultdict

from django.conf import settings
from django.db import migrations


def members_of_dissolved_teams_leave(apps, schema_editor):
    Member = apps.get_model("outreach", "Member")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    AuditEntry = apps.get_model("accounts", "AuditEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    PendingRollup = apps.get_model("communes", "PendingRollup")

    rows = list(
        Member.objects.filter(is_active=True, team__dissolved_on__isnull=False)
        .order_by("pk")
        .values_list(
            "pk", "full_name", "joined_on", "user_id", "team__dissolved_on", "team__commune_id"
        )
    )
    if not rows:
        return
    by_day = defaultdict(list)
    entries = []
    member_type = ContentType.objects.get_for_model(Member)
    for pk, full_name, joined_on, _user, dissolved_on, commune_id in rows:
        # A member cannot leave before joining (a check constraint).
        left_on = max(dissolved_on, joined_on)
        by_day[(commune_id, left_on)].append(pk)
        entries.append(
            AuditEntry(
                action="changed",
                content_type=member_type,
                object_id=pk,
                object_repr=full_name[:200],
                commune_id=commune_id,
                changes={"is_active": [True, False], "left_on": [None, left_on.isoformat()]},
            )
        )
    for (_commune, left_on), pks in by_day.items():
        Member.objects.filter(pk__in=pks).update(is_active=False, left_on=left_on)
    User.objects.filter(pk__in=[row[3] for row in rows if row[3]]).update(is_active=False)
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    PendingRollup.objects.bulk_create(
        [
            # Members who left: the roster's figures (marked "outreach" before the
            # roll-up told the two apart, which dashboard 0014 reads as the roster).
            PendingRollup(commune_id=commune_id, day=day, source="roster")
            for commune_id, day in sorted(by_day)
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0005_team_name_key_and_authors_blank"),
        ("accounts", "0003_audit_trail"),
        ("communes", "0004_rollup_source"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(members_of_dissolved_teams_leave, migrations.RunPython.noop),
    ]
