from django.db import migrations
from django.utils import translation


def load_catalogue(apps, schema_editor):
    from outreach.catalogue import SERVICE_LABELS

    Service = apps.get_model("outreach", "Service")
    with translation.override("en"):
        for order, (code, label) in enumerate(SERVICE_LABELS.items(), start=1):
            Service.objects.update_or_create(
                code=code, defaults={"name": str(label), "sort_order": order}
            )


def sync_roles(apps, schema_editor):
    from accounts.roles import role_groups_sync

    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0001_initial"),
        ("accounts", "0002_role_groups"),
    ]

    operations = [
        migrations.RunPython(load_catalogue, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
