"""Backups of the portal's PostgreSQL database, shared by backup_database and
restore_database.

A dump holds every name, phone number and password hash in the portal. It is written
0600 in a 0700 folder whatever the umask, and with a key configured it never reaches the
disk unencrypted: pg_dump's output goes through age or gpg on its way to the file, and
back through them into pg_restore.
"""

import contextlib
import os
import signal
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.management.base import CommandError

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


class PipelineFailed(Exception):
    """A program of a pipeline exited with an error; the message holds what it said."""


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


@dataclass(frozen=True)
class Encryption:
    suffix: str
    command: list[str]


def backup_encryption() -> Encryption | None:
    """The encryption the settings ask for: age if its recipient is set, else gpg, else none."""
    age = settings.BACKUP_AGE_RECIPIENT
    if age:
        # A recipients file (one key a line) or a single public key, as age itself takes them.
        flag = "--recipients-file" if Path(age).is_file() else "--recipient"
        return Encryption(".age", ["age", "--encrypt", flag, age])
    gpg = settings.BACKUP_GPG_RECIPIENT
    if gpg:
        # The key was chosen by whoever configured the backups: gpg must not refuse it in
        # a cron job for want of a signature in the web of trust.
        return Encryption(
            ".gpg",
            ["gpg", "--batch", "--yes", "--trust-model", "always", "--encrypt", "--recipient", gpg],
        )
    return None


def backup_decryption(dump: Path) -> list[str] | None:
    """The command that writes a dump's clear text to its output, or None if it is clear."""
    if dump.suffix == ".age":
        identity = settings.BACKUP_AGE_IDENTITY
        if not identity:
            raise CommandError(
                f"{dump} is encrypted with age: set BACKUP_AGE_IDENTITY to the identity file "
                "(age-keygen's output) whose public key BACKUP_AGE_RECIPIENT named."
            )
        return ["age", "--decrypt", "--identity", identity, str(dump)]
    if dump.suffix == ".gpg":
        return ["gpg", "--batch", "--decrypt", str(dump)]
    return None


def private_folder(folder: Path, *, ours: bool) -> str | None:
    """Make sure the folder a dump goes into exists and is closed to other users.

    A folder made here is 0700 whatever the umask. The portal's own backups/ folder is
    tightened if an older version left it open. A folder someone named is theirs (a
    mount, a folder their backup tool reads): it is left as it is and they are told.
    Returns what to tell them, if anything.
    """
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=PRIVATE_FOLDER)
        # mkdir's mode passes through the umask, which could leave it unwritable.
        folder.chmod(PRIVATE_FOLDER)
        return None
    mode = stat.S_IMODE(folder.stat().st_mode)
    if not mode & 0o077:
        return None
    if ours:
        # A folder someone else owns (made by root for a service user) cannot be changed
        # here; the warning below says what to do instead.
        with contextlib.suppress(PermissionError):
            folder.chmod(PRIVATE_FOLDER)
            return f"{folder} was open to other users (mode {mode:04o}); it is now 0700."
    return (
        f"Warning: {folder} is open to other users (mode {mode:04o}). The dump itself is "
        f"0600, but they can see it is there; `chmod 700 {folder}` closes the folder."
    )


# The Debian package of each program run here, for the message when one is missing.
PACKAGES = {
    "pg_dump": "postgresql-client",
    "pg_restore": "postgresql-client",
    "age": "age",
    "gpg": "gnupg",
}


def _pipeline(commands: list[list[str]], *, env: dict[str, str], stdout: IO | int) -> None:
    """Run the commands, each one's output into the next one's input and the last one's
    into stdout, and raise PipelineFailed with what every one that failed said."""
    with contextlib.ExitStack() as stack:
        processes: list[tuple[list[str], subprocess.Popen, IO[bytes]]] = []
        previous = None
        try:
            for number, command in enumerate(commands, start=1):
                errors = stack.enter_context(tempfile.TemporaryFile())
                try:
                    process = subprocess.Popen(
                        command,
                        stdin=previous if previous is not None else subprocess.DEVNULL,
                        stdout=stdout if number == len(commands) else subprocess.PIPE,
                        stderr=errors,
                        env=env,
                    )
                except FileNotFoundError:
                    package = PACKAGES.get(command[0], command[0])
                    raise CommandError(
                        f"{command[0]} is not installed (Debian: apt-get install {package})."
                    ) from None
                # Only the next program holds the pipe now: if it dies, this one's writes
                # fail at once instead of filling a pipe nobody reads.
                if previous is not None:
                    previous.close()
                previous = process.stdout
                processes.append((command, process, errors))
            for _command, process, _errors in processes:
                process.wait()
        finally:
            for _command, process, _errors in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        failures = []
        for command, process, errors in processes:
            # A program whose reader died is killed by SIGPIPE: the reader says why.
            if process.returncode in (0, -signal.SIGPIPE):
                continue
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip()
            failures.append(said or f"{command[0]}: exit status {process.returncode}")
    if any(process.returncode for _command, process, _errors in processes):
        raise PipelineFailed("; ".join(failures) or f"{commands[0][0]}: killed by SIGPIPE")


def backup_write(*, database: dict, output: Path, encryption: Encryption | None) -> None:
    """Write a pg_dump of the database to output, 0600, through the encryption if any.

    The dump goes to a hidden file beside output and takes its name only once complete:
    a failed run leaves no half dump, and never replaces an earlier one.
    """
    env = pg_environment(database)
    dump = [
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        database["NAME"],
    ]
    commands = [dump, encryption.command] if encryption else [dump]
    descriptor, partial = tempfile.mkstemp(
        dir=output.parent, prefix=f".{output.name}.", suffix=".partial"
    )
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
        with os.fdopen(descriptor, "wb") as file:
            _pipeline(commands, env=env, stdout=file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, output)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def backup_restore(*, database: dict, dump: Path, target: str) -> None:
    """Replace the target database's contents with the dump, in one transaction."""
    env = pg_environment(database)
    restore = [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={target}",
    ]
    decryption = backup_decryption(dump)
    # An encrypted dump reaches pg_restore through a pipe, never as a clear file on disk.
    commands = [decryption, restore] if decryption else [[*restore, str(dump)]]
    _pipeline(commands, env=env, stdout=subprocess.DEVNULL)
