from django.db import migrations

# The summary tables whose rows a roll-up rewrites in place (totals added to, month
# rows recomputed, running totals moved along), with room left on each page for the
# new version of a row: PostgreSQL then keeps it beside the old one without touching
# the table's indexes (a heap-only update), where a full page makes every update a new
# entry in every index. New pages only: the tables' next rewrite (a full roll-up fills
# emptied tables; VACUUM FULL) spreads existing rows out.
TABLES = (
    "dashboard_teamtotal",
    "dashboard_communeday",
    "dashboard_communemonth",
    "dashboard_communemonthservice",
    "dashboard_communereadiness",
)
FILLFACTOR = 80


def fillfactor(value: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0014_roster_marks"),
    ]

    operations = [
        migrations.RunPython(fillfactor(FILLFACTOR), fillfactor(100)),
    ]
