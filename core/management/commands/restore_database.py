"""Restore a dump written by backup_database, all or nothing, with pg_restore."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.backups import PipelineFailed, backup_decryption, backup_restore, pg_environment


class Command(BaseCommand):
    help = (
        "Replace the database's contents with a dump (pg_restore, in one transaction). "
        "--database restores into another, existing database instead, e.g. to check a dump. "
        "A .dump.age is decrypted with BACKUP_AGE_IDENTITY, a .dump.gpg with gpg's keyring."
    )

    def add_arguments(self, parser):
        parser.add_argument("dump", help="A file written by backup_database.")
        parser.add_argument("--database", help="Restore into this database instead.")
        parser.add_argument(
            "--yes", action="store_true", help="Replace the portal's own database's contents."
        )

    def handle(self, *args, dump, **options):
        database = settings.DATABASES["default"]
        pg_environment(database)  # refuses SQLite before anything else
        target = options["database"] or database["NAME"]
        if not Path(dump).is_file():
            raise CommandError(f"No dump at {dump}.")
        backup_decryption(Path(dump))  # a missing key is said before --yes is asked for
        if target == database["NAME"] and not options["yes"]:
            raise CommandError(
                f"This replaces everything in {target}. Run again with --yes to go ahead."
            )
        connection.close()
        try:
            backup_restore(database=database, dump=Path(dump), target=target)
        except PipelineFailed as failure:
            raise CommandError(f"The restore failed, nothing was changed: {failure}") from None
        self.stdout.write(f"Restored {dump} into {target}")
        if target == database["NAME"]:
            # The summary tables came back with the dump, but not the figures of what was
            # posted since, nor the caches: rebuild, so that the dashboards show this
            # database's figures under a key no earlier run used (dashboard/rollup.py).
            call_command("rollup", full=True, stdout=self.stdout)
