"""Dump the portal's PostgreSQL database with pg_dump (custom format, for pg_restore)."""

import os
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone


def pg_environment(database: dict) -> dict[str, str]:
    """The libpq variables that point pg_dump and pg_restore at the portal's server."""
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise CommandError(
            "Backups are for PostgreSQL. The embedded SQLite database is one file: copy it."
        )
    env = {**os.environ}
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
    ):
        if database.get(key):
            env[variable] = str(database[key])
    return env


class Command(BaseCommand):
    help = "Write a pg_dump of the database to a file (default backups/portal-<time>.dump)."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="The dump file to write.")

    def handle(self, *args, **options):
        database = settings.DATABASES["default"]
        env = pg_environment(database)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        output = Path(options["output"] or settings.BASE_DIR / "backups" / f"portal-{stamp}.dump")
        output.parent.mkdir(parents=True, exist_ok=True)
        connection.close()
        result = subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={output}",
                database["NAME"],
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            output.unlink(missing_ok=True)
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        self.stdout.write(f"Wrote {output} ({output.stat().st_size:,} bytes)")
