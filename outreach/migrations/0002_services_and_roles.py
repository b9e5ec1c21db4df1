from django.db import migrations


def load_catalogue(apps, schema_editor):
    from outreach.catalogue import services_sync

    services_sync(apps)


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
