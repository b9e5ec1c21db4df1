import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Sum


def levels_fill(apps, schema_editor):
    """Each commune's current answers as the sum of its readiness days (kept as they
    were by the migrations before)."""
    ReadinessDay = apps.get_model("outreach", "ReadinessDay")
    ReadinessLevel = apps.get_model("outreach", "ReadinessLevel")
    sums = (
        ReadinessDay.objects.order_by()
        .values("commune_id", "item")
        .annotate(y=Sum("yes"), a=Sum("answered"))
        .values_list("commune_id", "item", "y", "a")
    )
    ReadinessLevel.objects.bulk_create(
        [
            ReadinessLevel(commune_id=commune_id, item=item, yes=yes, answered=answered)
            for commune_id, item, yes, answered in sums
            if yes or answered
        ],
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0006_pendingrollup_to_dashboard"),
        ("outreach", "0011_visit_facts_required"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReadinessLevel",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("item", models.CharField(max_length=20)),
                ("yes", models.IntegerField(default=0)),
                ("answered", models.IntegerField(default=0)),
                (
                    "commune",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="communes.commune",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("commune", "item"), name="readiness_level_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(levels_fill, migrations.RunPython.noop, elidable=True),
    ]
