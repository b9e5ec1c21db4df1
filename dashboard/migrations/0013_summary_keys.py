import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('communes', '0006_pendingrollup_to_dashboard'),
        ('dashboard', '0012_running_totals'),
        ('outreach', '0012_readiness_levels'),
    ]

    operations = [
        migrations.AlterField(
            model_name='communeday',
            name='commune',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='communeday',
            name='district',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.district'),
        ),
        migrations.AlterField(
            model_name='communedayservice',
            name='commune',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='communedayservice',
            name='district',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.district'),
        ),
        migrations.AlterField(
            model_name='communedayservice',
            name='service',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='outreach.service'),
        ),
        migrations.AlterField(
            model_name='communemonth',
            name='commune',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='communemonth',
            name='district',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.district'),
        ),
        migrations.AlterField(
            model_name='communemonthservice',
            name='commune',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='communemonthservice',
            name='district',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.district'),
        ),
        migrations.AlterField(
            model_name='communemonthservice',
            name='service',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='outreach.service'),
        ),
        migrations.AlterField(
            model_name='communereadiness',
            name='commune',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='communereadiness',
            name='district',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.district'),
        ),
        migrations.AlterField(
            model_name='hamletday',
            name='commune',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='hamletday',
            name='hamlet',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.hamlet'),
        ),
        migrations.AlterField(
            model_name='teamday',
            name='commune',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='teamday',
            name='team',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='outreach.team'),
        ),
        migrations.AlterField(
            model_name='teamtotal',
            name='commune',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='teamtotal',
            name='team',
            field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='outreach.team'),
        ),
        migrations.AlterField(
            model_name='trainingday',
            name='commune',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='trainingday',
            name='district',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.district'),
        ),
        migrations.AlterField(
            model_name='trainingyear',
            name='commune',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.commune'),
        ),
        migrations.AlterField(
            model_name='trainingyear',
            name='district',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='communes.district'),
        ),
    ]
