import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _author(label):
    return models.ForeignKey(
        blank=True,
        null=True,
        on_delete=django.db.models.deletion.SET_NULL,
        related_name="+",
        to=settings.AUTH_USER_MODEL,
        verbose_name=label,
    )


class Migration(migrations.Migration):
    """A record whose author's login is gone (SET_NULL) stays editable."""

    dependencies = [
        ("dashboard", "0004_team_day_households_new"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(model_name="provincialindicator", name="updated_by", field=_author("changed by")),
        migrations.AlterField(model_name="target", name="updated_by", field=_author("changed by")),
    ]
