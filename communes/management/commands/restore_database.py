"""Restore a dump written by backup_database, all or nothing, with pg_restore."""

import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .backup_database import pg_environment


class Command(BaseCommand):
    help = (
        "Replace the database's contents with a dump (pg_restore, in one transaction). "
        "--database restores into another, existing database instead, e.g. to check a dump."
    )

    def add_arguments(self, parser):
        parser.add_argument("dump", help="A file written by backup_database.")
        parser.add_argument("--database", help="Restore into this database instead.")
        parser.add_argument(
            "--yes", action="store_true", help="Replace the portal's own database's contents."
        )

    def handle(self, *args, dump, **options):
        database = settings.DATABASES["default"]
        env = pg_environment(database)
        target = options["database"] or database["NAME"]
        if not Path(dump).is_file():
            raise CommandError(f"No dump at {dump}.")
        if target == database["NAME"] and not options["yes"]:
            raise CommandError(
                f"This replaces everything in {target}. Run again with --yes to go ahead."
            )
        connection.close()
        result = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={target}",
                dump,
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed, nothing was changed: {result.stderr.strip()}")
        self.stdout.write(f"Restored {dump} into {target}")
