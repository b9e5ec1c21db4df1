from django.db import migrations


def sync_roles(apps, schema_editor):
    from accounts.roles import role_groups_sync

    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_audit_trail")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
