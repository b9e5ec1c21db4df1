from django.db import migrations, models


def pending_as_roster(apps, schema_editor):
    """Marks left by the code before this one may be roster changes (it marked both
    kinds "outreach"): recomputed as the roster's, which covers the visits' too."""
    PendingRollup = apps.get_model("dashboard", "PendingRollup")
    PendingRollup.objects.filter(source="outreach").update(source="roster")


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0013_summary_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="pendingrollup",
            name="source",
            field=models.CharField(
                choices=[
                    ("outreach", "Outreach"),
                    ("roster", "Teams and members"),
                    ("trainings", "Trainings"),
                    ("readiness", "Readiness"),
                ],
                max_length=10,
            ),
        ),
        migrations.RunPython(pending_as_roster, migrations.RunPython.noop, elidable=True),
    ]
