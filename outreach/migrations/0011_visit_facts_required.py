# The write-time facts' columns required, once 0010 has filled them (a migration of its
# own: PostgreSQL alters no table with the foreign-key checks of its updates pending).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0010_visit_facts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="visit",
            name="commune",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="hamlet",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="communes.hamlet",
                verbose_name="hamlet",
            ),
        ),
        migrations.AddIndex(
            model_name="visit",
            index=models.Index(fields=["commune", "visited_on"], name="visit_commune_day"),
        ),
    ]
