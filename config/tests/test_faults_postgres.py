"""PostgreSQL restarted under load, against a real portal: gunicorn with the production
settings and a Celery worker on a PostgreSQL cluster and a Redis of the test's own.

What is promised: a visit is saved whole or not at all (never a visit without its
services, members or household, never a household left without its visit); a phone
that sends the same visit again once the database is back gets it stored, once; while
the database is down /healthz answers 503 and the pages say so in Vietnamese, and
within 10 seconds of its return /healthz answers 200; the figures catch up.
"""

import json
import threading
import time

import psycopg2
import pytest

from bench.processes import Worker
from dashboard.models import CommuneDay, PendingRollup
from outreach.models import Household, Visit

from .faults import (
    ANSWER_WITHIN,
    Portal,
    Submission,
    form_token,
    private_postgres,
    private_redis,
    request,
    running_portal,
    send,
    send_as_beat,
    shared_database_url,
    visit_submission,
    wait_until,
    world_create,
)

# Slow: a portal, a database or a Redis of its own, broken on purpose; `-m "not slow"` skips it.
pytestmark = pytest.mark.slow

BACK_WITHIN = 10.0  # seconds from the database's return to /healthz answering 200
DOWN_FOR = 3.0
SENDERS = 3


def _rows(portal: Portal, sql: str, params=()) -> list[tuple]:
    with psycopg2.connect(portal.database_url) as db, db.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    db.close()
    return rows


def _healthz(portal: Portal) -> tuple[int, list[str]]:
    """The health check's status and what it says is failing. Asked with the leader's
    session cookie, as a browser would: the check must not need the session."""
    try:
        status, _headers, body = request(portal, "GET", "/healthz")
    except OSError:
        return 0, []
    try:
        return status, json.loads(body)["failing"]
    except (ValueError, KeyError):
        return status, ["not the health check's answer"]


class Senders:
    """Phones sending new visits one after another until told to stop."""

    def __init__(self, portal: Portal, cookie: str, token: str):
        self.portal, self.cookie, self.token = portal, cookie, token
        self.sent: list[Submission] = []
        self.slowest = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._send, args=(n,)) for n in range(SENDERS)]

    def _send(self, phone: int) -> None:
        n = 0
        while not self._stop.is_set():
            submission = visit_submission(self.portal, self.token, phone * 10_000 + n)
            status, seconds = send(self.portal, self.cookie, submission)
            with self._lock:
                self.sent.append(submission)
                self.slowest = max(self.slowest, seconds)
            n += 1
            if status != 302:
                time.sleep(0.2)  # a volunteer reads the page before trying the next house

    def __enter__(self) -> "Senders":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_postgres_restarted_under_load_loses_no_visit_and_half_saves_none(
    reference_data, divisions, tmp_path
):
    world = world_create()  # committed in the test database, then copied
    with private_postgres() as database, private_redis() as broker:
        database.clone(shared_database_url())
        with (
            running_portal(world, broker, database.url(), tmp_path) as portal,
            Worker(portal.ctx),
        ):
            cookie, token = form_token(portal)
            health_while_down: list[tuple[int, list[str]]] = []
            with Senders(portal, cookie, token) as senders:
                time.sleep(1.5)
                # The harshest stop: every backend killed in the middle of what it did.
                database.stop("immediate")
                down_until = time.monotonic() + DOWN_FOR
                while time.monotonic() < down_until:
                    health_while_down.append(_healthz(portal))
                    time.sleep(0.25)
                database.start()
                back_at = time.monotonic()
                assert wait_until(lambda: _healthz(portal) == (200, []), within=BACK_WITHIN + 20)
                healthy_after = time.monotonic() - back_at
                time.sleep(1.5)

            refused = [s for s in senders.sent if s.answers[-1] != 302]
            # The phone sends the same form again: the same submission id.
            for submission in refused:
                send(portal, cookie, submission)
            send_as_beat(portal)

            assert health_while_down
            assert {(status, tuple(failing)) for status, failing in health_while_down} == {
                (503, ("database",))
            }
            assert healthy_after < BACK_WITHIN, f"/healthz 200 only {healthy_after:.1f} s after"
            assert senders.slowest < ANSWER_WITHIN + 5
            answers = {status for s in senders.sent for status in s.answers}
            # Every answer was the visit saved, or the page saying the database is away.
            assert answers <= {302, 503}, answers
            assert refused, "the restart refused no submission: it did not land under load"
            assert [s.answers[-1] for s in refused] == [302] * len(refused)
            _assert_every_visit_whole(portal, senders.sent)
            assert wait_until(lambda: _figures_caught_up(portal), within=60)


def _assert_every_visit_whole(portal: Portal, sent: list[Submission]) -> None:
    team = portal.world.team_id
    stored = {
        str(row[0])
        for row in _rows(
            portal,
            f"SELECT submission_id FROM {Visit._meta.db_table} WHERE team_id = %s",  # noqa: S608
            [team],
        )
    }
    assert stored == {s.submission_id for s in sent}
    services = Visit.services.through._meta.db_table
    members = Visit.members.through._meta.db_table
    half_saved = _rows(
        portal,
        f"SELECT v.id FROM {Visit._meta.db_table} v WHERE v.team_id = %s AND ("  # noqa: S608
        f" (SELECT count(*) FROM {services} s WHERE s.visit_id = v.id) <> %s"
        f" OR (SELECT count(*) FROM {members} m WHERE m.visit_id = v.id) <> %s)",
        [team, len(portal.world.service_ids), len(portal.world.member_ids)],
    )
    assert half_saved == []
    households_without_visit = _rows(
        portal,
        f"SELECT h.id FROM {Household._meta.db_table} h WHERE h.hamlet_id = %s"  # noqa: S608
        f" AND NOT EXISTS (SELECT 1 FROM {Visit._meta.db_table} v WHERE v.household_id = h.id)",
        [portal.world.hamlet_id],
    )
    assert households_without_visit == []


def _figures_caught_up(portal: Portal) -> bool:
    pending = _rows(portal, f"SELECT count(*) FROM {PendingRollup._meta.db_table}")[0][0]  # noqa: S608
    summed = _rows(
        portal,
        f"SELECT coalesce(sum(visits), 0) FROM {CommuneDay._meta.db_table}"  # noqa: S608
        " WHERE commune_id = %s",
        [portal.world.commune_id],
    )[0][0]
    stored = _rows(
        portal,
        f"SELECT count(*) FROM {Visit._meta.db_table} WHERE team_id = %s",  # noqa: S608
        [portal.world.team_id],
    )[0][0]
    return pending == 0 and summed == stored
