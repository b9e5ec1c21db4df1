"""The roll-up's queue table moves from communes to the dashboard, its rows with it: the
model is taken over as it is, then the table is renamed."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0006_pendingrollup_to_dashboard"),
        ("dashboard", "0008_rollup_duration"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PendingRollup",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("day", models.DateField()),
                        (
                            "source",
                            models.CharField(
                                choices=[("outreach", "Outreach"), ("trainings", "Trainings")],
                                max_length=10,
                            ),
                        ),
                        ("marked_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "commune",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="communes.commune",
                            ),
                        ),
                        (
                            "district",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="communes.district",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "pending roll-up bucket",
                        "verbose_name_plural": "pending roll-up buckets",
                        "db_table": "communes_pendingrollup",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("commune__isnull", True), ("district__isnull", True), _connector="OR"
                                ),
                                name="pending_rollup_one_place",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="pendingrollup", table=None),
    ]
