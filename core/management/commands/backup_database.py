"""Dump the portal's PostgreSQL database with pg_dump (custom format, for pg_restore)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from core.backups import (
    PipelineFailed,
    backup_encryption,
    backup_write,
    pg_environment,
    private_folder,
)


def _shown(path: Path) -> str:
    """The path as the person who ran the command would type it: from where they are."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


class Command(BaseCommand):
    help = (
        "Write a pg_dump of the database to a file only its owner can read (default "
        "backups/portal-<time>.dump), encrypted with age or gpg when BACKUP_AGE_RECIPIENT "
        "or BACKUP_GPG_RECIPIENT is set (.dump.age, .dump.gpg)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="The dump file to write.")

    def handle(self, *args, **options):
        database = settings.DATABASES["default"]
        pg_environment(database)  # refuses SQLite before any folder is made
        own_folder = settings.BASE_DIR / "backups"
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        output = Path(options["output"] or own_folder / f"portal-{stamp}.dump")
        encryption = backup_encryption()
        if encryption and output.suffix != encryption.suffix:
            output = output.with_name(output.name + encryption.suffix)
        ours = output.parent.resolve() == own_folder.resolve()
        if notice := private_folder(output.parent, ours=ours):
            self.stderr.write(notice if ours else self.style.WARNING(notice))
        connection.close()
        try:
            backup_write(database=database, output=output, encryption=encryption)
        except PipelineFailed as failure:
            raise CommandError(f"The backup failed, nothing was written: {failure}") from None
        # filesizeformat keeps the figure and its unit together with a no-break space,
        # which grep and log readers do not take for one.
        size = filesizeformat(output.stat().st_size).replace("\xa0", " ")
        self.stdout.write(f"Wrote {_shown(output)} ({size})")
