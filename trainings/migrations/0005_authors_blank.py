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
        ("trainings", "0004_person_key_holds_name_and_agency"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(model_name="attendance", name="recorded_by", field=_author("recorded by")),
        migrations.AlterField(model_name="headcount", name="recorded_by", field=_author("recorded by")),
        migrations.AlterField(model_name="trainingsession", name="created_by", field=_author("entered by")),
    ]
