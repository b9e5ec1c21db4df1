from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0012_readiness_levels'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='member',
            index=models.Index(fields=['joined_on'], name='member_joined'),
        ),
        migrations.AddIndex(
            model_name='member',
            index=models.Index(fields=['left_on'], name='member_left'),
        ),
        migrations.AddIndex(
            model_name='member',
            index=models.Index(fields=['zalo_joined_on'], name='member_zalo_joined'),
        ),
    ]
