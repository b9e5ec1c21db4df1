"""Summary models declare their keys: TrainingDay and TrainingYear get the unique
constraint on them, NULLs equal (a province row has no district and no commune)."""

from django.db import migrations, models

# Summary rows are rebuilt from the raw rows (the nightly full roll-up), so a duplicate
# that the new constraints would refuse is dropped, keeping the newest; the figures it
# held are recomputed by the next run.
KEYS = {"trainingday": ("level", "district", "commune", "day", "audience"),
        "trainingyear": ("year", "district", "commune")}


def duplicates_drop(apps, schema_editor):
    for name, keys in KEYS.items():
        model = apps.get_model("dashboard", name)
        seen = set()
        doomed = []
        for row in model.objects.order_by("-pk").values("pk", *(f"{k}_id" if k in ("district", "commune") else k for k in keys)):
            key = tuple(v for k, v in row.items() if k != "pk")
            if key in seen:
                doomed.append(row["pk"])
            seen.add(key)
        model.objects.filter(pk__in=doomed).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('communes', '0006_pendingrollup_to_dashboard'),
        ('dashboard', '0009_pendingrollup_from_communes'),
    ]

    operations = [
        migrations.RunPython(duplicates_drop, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='trainingday',
            constraint=models.UniqueConstraint(fields=('level', 'district', 'commune', 'day', 'audience'), name='training_day_unique', nulls_distinct=False),
        ),
        migrations.AddConstraint(
            model_name='trainingyear',
            constraint=models.UniqueConstraint(fields=('year', 'district', 'commune'), name='training_year_unique', nulls_distinct=False),
        ),
    ]
