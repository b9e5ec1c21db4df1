"""Delete old dumps from the backups folder, keeping the newest of each recent day and week.

The nightly backup timer (deploy/systemd/namdinh-portal-backup.service) runs it after
backup_database. Dumps are dated by the stamp in their name, which backup_database
writes and which survives a copy, never by the file's time. Only files named as
backup_database names them (`portal-<YYYYmmdd-HHMMSS>.dump`, or `.dump.age` / `.dump.gpg`
when encrypted) are ever deleted: a dump written with --output under another name, an
unfinished `.partial` file or anything else in the folder is left alone.
"""

import re
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DUMP_NAME = re.compile(r"^portal-(?P<stamp>\d{8}-\d{6})\.dump(?:\.age|\.gpg)?$")
STAMP_FORMAT = "%Y%m%d-%H%M%S"


def _newest_per_period(
    newest_first: list[datetime], count: int, period: Callable[[datetime], Hashable]
) -> set[datetime]:
    kept: dict[Hashable, datetime] = {}
    for stamp in newest_first:
        key = period(stamp)
        if key in kept:
            continue
        if len(kept) == count:
            break
        kept[key] = stamp
    return set(kept.values())


def dumps_to_keep(stamps: Iterable[datetime], *, daily: int, weekly: int) -> set[datetime]:
    """The newest dump of each of the `daily` latest days that have one, and of each of
    the `weekly` latest ISO weeks that have one; a dump may count for both.

    Periods are counted among those that have a dump, not back from today: when backups
    stop for a month, the next prune still leaves the last 14 days' and 8 weeks' dumps.
    """
    newest_first = sorted(set(stamps), reverse=True)
    return _newest_per_period(newest_first, daily, datetime.date) | _newest_per_period(
        newest_first, weekly, lambda stamp: stamp.isocalendar()[:2]
    )


class Command(BaseCommand):
    help = (
        "Delete old backups from the backups folder, keeping the newest dump of each of the "
        "last 14 days and of each of the last 8 weeks that have one."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--folder",
            type=Path,
            default=settings.BASE_DIR / "backups",
            help="Where the dumps are (default: backups/, where backup_database writes).",
        )
        parser.add_argument("--daily", type=int, default=14, help="Days to keep (default 14).")
        parser.add_argument("--weekly", type=int, default=8, help="Weeks to keep (default 8).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be deleted, delete nothing."
        )

    def handle(self, *args, folder: Path, daily: int, weekly: int, dry_run: bool, **options):
        # With no day kept, the newest dump could go: a prune must never leave nothing.
        if daily < 1 or weekly < 0:
            raise CommandError("--daily must be at least 1 and --weekly at least 0.")
        if not folder.is_dir():
            raise CommandError(f"No backups folder at {folder}.")
        files_by_stamp: dict[datetime, list[Path]] = {}
        for path in folder.iterdir():
            match = DUMP_NAME.match(path.name)
            if match and path.is_file():
                stamp = datetime.strptime(match["stamp"], STAMP_FORMAT)  # noqa: DTZ007 - local time, as named
                files_by_stamp.setdefault(stamp, []).append(path)
        keep = dumps_to_keep(files_by_stamp, daily=daily, weekly=weekly)
        doomed = sorted(
            path for stamp, paths in files_by_stamp.items() if stamp not in keep for path in paths
        )
        for path in doomed:
            if not dry_run:
                path.unlink()
            self.stdout.write(f"{'Would delete' if dry_run else 'Deleted'} {path.name}")
        kept = sum(len(files_by_stamp[stamp]) for stamp in keep)
        self.stdout.write(
            f"Kept {kept} dump(s) in {folder}, {'would delete' if dry_run else 'deleted'} "
            f"{len(doomed)}."
        )
