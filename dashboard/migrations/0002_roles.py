from django.db import migrations


def sync_roles(apps, schema_editor):
    from accounts.roles import role_groups_sync

    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_initial"), ("trainings", "0003_course_import")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
