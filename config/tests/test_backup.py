"""`make backup` / `make restore`: a dump restores into a scratch database whole, only
its owner can read it, and with a key it is encrypted before it reaches the disk."""

import datetime as dt
import io
import os
import re
import shutil
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.tests.factories import UserFactory
from communes.models import Commune
from outreach.models import Member, Visit
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

# pg_dump, pg_restore, age and gpg in subprocesses, scratch databases made and dropped, and
# flushes after: tens of seconds, left to `make test`.
pytestmark = pytest.mark.slow

SCRATCH = "portal_restore_check"


def _server(database: str):
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=database,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
    )


def _counts_and_visits(database: str) -> tuple[dict[str, int], list[int]]:
    with _server(database) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - catalogue names
            counts[table] = cursor.fetchone()[0]
        cursor.execute(f'SELECT id FROM "{Visit._meta.db_table}" ORDER BY id')  # noqa: S608
        visits = [row[0] for row in cursor.fetchall()]
    db.close()
    return counts, visits


def _admin_sql(sql: str) -> None:
    db = _server("postgres")
    db.autocommit = True
    with db.cursor() as cursor:
        cursor.execute(sql)
    db.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _backup(*args: str, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("backup_database", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _visits_logged() -> Member:
    """A team leader who logged 12 visits: names, a phone and a password hash to dump."""
    commune = Commune.objects.get(code=14269)
    team = TeamFactory(commune=commune)
    hamlet = HamletFactory(commune=commune)
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=UserFactory(is_superuser=True), member=leader)
    for n in range(12):
        visit_record(
            by=user,
            team=team,
            submission_id=uuid.uuid4(),
            hamlet=hamlet,
            address_label=f"Số {n}",
            data=VisitData(visited_on=dt.date(2026, 5, 1 + n), members=[leader]),
        )
    return leader


def _restores_whole(dump: Path) -> None:
    _admin_sql(f"DROP DATABASE IF EXISTS {SCRATCH}")
    _admin_sql(f"CREATE DATABASE {SCRATCH}")
    try:
        call_command("restore_database", str(dump), database=SCRATCH, stdout=io.StringIO())
        original = _counts_and_visits(connection.settings_dict["NAME"])
        restored = _counts_and_visits(SCRATCH)
    finally:
        _admin_sql(f"DROP DATABASE IF EXISTS {SCRATCH}")
    assert restored == original
    assert len(restored[1]) == 12 and restored[0]["outreach_member"] >= 1


def _plain_text_of(leader: Member) -> list[bytes]:
    """What a dump in clear shows of the portal: its SQL, and the leader's name and phone."""
    return [b"PGDMP", b"CREATE TABLE", leader.full_name.encode(), leader.phone.encode()]


@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_into_a_scratch_database_with_the_same_rows(
    reference_data, divisions, tmp_path
):
    _visits_logged()
    dump = tmp_path / "portal.dump"
    _backup(output=str(dump))
    assert dump.stat().st_size > 0

    _restores_whole(dump)


@pytest.mark.django_db
def test_restoring_over_the_portals_own_database_needs_a_yes(tmp_path):
    dump = tmp_path / "portal.dump"
    dump.write_bytes(b"PGDMP")
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore_database", str(dump))


@pytest.mark.django_db
def test_a_broken_dump_is_refused_and_the_database_is_left_as_it_was(tmp_path):
    dump = tmp_path / "broken.dump"
    dump.write_bytes(b"not a dump at all")
    _admin_sql(f"DROP DATABASE IF EXISTS {SCRATCH}")
    _admin_sql(f"CREATE DATABASE {SCRATCH}")
    try:
        with pytest.raises(CommandError, match="nothing was changed"):
            call_command("restore_database", str(dump), database=SCRATCH)
    finally:
        _admin_sql(f"DROP DATABASE IF EXISTS {SCRATCH}")


@pytest.mark.django_db(transaction=True)
def test_make_backup_writes_a_dump_only_its_owner_can_read_and_says_where_and_how_large(
    tmp_path, settings, monkeypatch
):
    settings.BASE_DIR = tmp_path
    monkeypatch.chdir(tmp_path)
    # The most permissive umask: nothing the process would do by default is private.
    umask = os.umask(0)
    try:
        out, _err = _backup()
    finally:
        os.umask(umask)

    folder = tmp_path / "backups"
    (dump,) = folder.iterdir()
    assert (_mode(folder), _mode(dump)) == (0o700, 0o600)
    said = re.fullmatch(r"Wrote (\S+) \((\d+(?:[,.]\d)?) (KB|MB)\)\n", out)
    assert said, out
    assert said[1] == f"backups/{dump.name}"
    assert re.fullmatch(r"portal-\d{8}-\d{6}\.dump", dump.name)
    unit = {"KB": 1024, "MB": 1024**2}[said[3]]
    # Shown to one decimal: within half a tenth of the unit of the size on disk.
    assert abs(float(said[2].replace(",", ".")) * unit - dump.stat().st_size) <= 0.05 * unit


@pytest.mark.django_db(transaction=True)
def test_a_backup_folder_is_made_private_but_one_open_to_others_is_only_warned_about(
    tmp_path, settings
):
    settings.BASE_DIR = tmp_path
    umask = os.umask(0o022)
    try:
        # A folder named with --output that does not exist yet, parents included.
        new = tmp_path / "srv" / "nightly" / "portal.dump"
        _out, err = _backup(output=str(new))
        assert (_mode(new.parent), _mode(new), err) == (0o700, 0o600, "")

        # Someone else's folder (a mount, a folder their backup tool reads): left as it
        # is, with a warning.
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        _out, err = _backup(output=str(shared / "portal.dump"))
        assert (_mode(shared), _mode(shared / "portal.dump")) == (0o755, 0o600)
        assert "open to other users (mode 0755)" in err and f"chmod 700 {shared}" in err

        # The portal's own backups/, as an older version left it: closed.
        (tmp_path / "backups").mkdir(mode=0o755)
        _out, err = _backup()
        assert _mode(tmp_path / "backups") == 0o700
        assert "was open to other users (mode 0755); it is now 0700" in err
    finally:
        os.umask(umask)


@pytest.mark.django_db(transaction=True)
def test_with_an_age_key_the_dump_is_encrypted_and_restores_with_the_same_rows(
    reference_data, divisions, tmp_path, settings
):
    leader = _visits_logged()
    identity = tmp_path / "identity.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True
    ).stdout.strip()
    settings.BACKUP_AGE_RECIPIENT = recipient
    # age is preferred when both are configured.
    settings.BACKUP_GPG_RECIPIENT = "backups@portal.example.vn"

    out, _err = _backup(output=str(tmp_path / "backups" / "portal.dump"))

    # Only the encrypted file, under the name that says so: no clear copy was left.
    (dump,) = (tmp_path / "backups").iterdir()
    assert dump.name == "portal.dump.age" and str(dump) in out
    assert _mode(dump) == 0o600
    content = dump.read_bytes()
    assert content.startswith(b"age-encryption.org/v1")
    assert [text for text in _plain_text_of(leader) if text in content] == []

    with pytest.raises(CommandError, match="BACKUP_AGE_IDENTITY"):
        call_command("restore_database", str(dump), database=SCRATCH)
    settings.BACKUP_AGE_IDENTITY = str(identity)
    _restores_whole(dump)


@pytest.mark.django_db(transaction=True)
def test_with_a_gpg_key_the_dump_is_encrypted_and_restores_with_the_same_rows(
    reference_data, divisions, tmp_path, settings, monkeypatch
):
    leader = _visits_logged()
    # A keyring of the test's own; a short path, for gpg-agent's socket.
    keyring = Path(tempfile.mkdtemp(prefix="gpg-"))
    monkeypatch.setenv("GNUPGHOME", str(keyring))
    try:
        # An ed25519 key with an encryption subkey, no passphrase, never expiring.
        key = ["Portal backups <backups@portal.test>", "future-default", "default", "never"]
        subprocess.run(
            ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", *key],
            check=True,
            capture_output=True,
        )
        settings.BACKUP_GPG_RECIPIENT = "backups@portal.test"

        _backup(output=str(tmp_path / "backups" / "portal.dump"))

        (dump,) = (tmp_path / "backups").iterdir()
        assert dump.name == "portal.dump.gpg" and _mode(dump) == 0o600
        content = dump.read_bytes()
        assert [text for text in _plain_text_of(leader) if text in content] == []
        _restores_whole(dump)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True)
        shutil.rmtree(keyring, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_a_backup_whose_encryption_fails_leaves_nothing_behind(tmp_path, settings):
    settings.BACKUP_AGE_RECIPIENT = "not-an-age-key"
    folder = tmp_path / "backups"

    with pytest.raises(CommandError, match="nothing was written: age: error: unknown recipient"):
        _backup(output=str(folder / "portal.dump"))

    assert list(folder.iterdir()) == []
