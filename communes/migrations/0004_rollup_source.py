from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("communes", "0003_pending_rollup")]

    operations = [
        migrations.AddField(
            model_name="pendingrollup",
            name="source",
            # Marks made before the field existed may be of either kind: recompute both.
            field=models.CharField(
                choices=[("outreach", "Outreach"), ("trainings", "Trainings")],
                default="trainings",
                max_length=10,
            ),
            preserve_default=False,
        ),
    ]
