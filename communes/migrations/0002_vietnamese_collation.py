"""The ICU collation that sorts names in Vietnamese alphabetical order on Postgres.

SQLite (the embedded default) has no ICU; VietnameseOrder falls back to its own order
there, so this migration does nothing on it.
"""

from django.db import migrations


def create_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE COLLATION IF NOT EXISTS vietnamese (provider = icu, locale = 'vi-VN')"
        )


def drop_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP COLLATION IF EXISTS vietnamese")


class Migration(migrations.Migration):
    dependencies = [("communes", "0001_initial")]

    operations = [migrations.RunPython(create_collation, drop_collation)]
