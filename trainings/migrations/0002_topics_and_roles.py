from django.db import migrations


def load_topics(apps, schema_editor):
    from trainings.catalogue import topics_sync

    topics_sync(apps)


def sync_roles(apps, schema_editor):
    from accounts.roles import role_groups_sync

    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("trainings", "0001_initial"),
        ("outreach", "0003_member_import"),
    ]

    operations = [
        migrations.RunPython(load_topics, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
