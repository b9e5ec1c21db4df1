"""`make backup` / `make restore`: a dump restores into a scratch database whole."""

import datetime as dt
import uuid

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


@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_into_a_scratch_database_with_the_same_rows(
    reference_data, divisions, tmp_path
):
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
    dump = tmp_path / "portal.dump"
    call_command("backup_database", output=str(dump))
    assert dump.stat().st_size > 0

    _admin_sql(f"DROP DATABASE IF EXISTS {SCRATCH}")
    _admin_sql(f"CREATE DATABASE {SCRATCH}")
    try:
        call_command("restore_database", str(dump), database=SCRATCH)
        original = _counts_and_visits(connection.settings_dict["NAME"])
        restored = _counts_and_visits(SCRATCH)
    finally:
        _admin_sql(f"DROP DATABASE IF EXISTS {SCRATCH}")

    assert restored == original
    assert len(restored[1]) == 12 and restored[0]["outreach_member"] >= 1


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
