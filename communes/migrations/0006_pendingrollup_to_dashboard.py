"""The roll-up's queue table is the dashboard's (dashboard 0009 takes it over): communes
forgets the model; the table and its rows stay for the dashboard. After the data
migrations that mark buckets through the historical model."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0005_name_key"),
        ("outreach", "0006_dissolved_teams_members_leave"),
        ("trainings", "0007_one_spelling_per_course"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PendingRollup")],
            database_operations=[],
        ),
    ]
