"""Faults of the broker, injected against a real portal: gunicorn with the production
settings, a Celery worker, Postgres, and a Redis of the test's own.

The Redis is private (its own process on a free port): stopping or pausing it never
touches the Redis everything else uses. What is promised: a visit is always saved and
the form answers within 5 seconds, whatever Redis does; the figures catch up once it is
back, with nothing lost and nothing counted twice; the work to redo lives in Postgres,
so a broker that loses its queue only delays the figures.
"""

import http.client
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bench.harness import Context
from bench.processes import Server, Worker, free_port
from communes.models import Commune, PendingRollup
from dashboard.models import CommuneDay
from outreach.models import Member, Service, Visit
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

ROOT = Path(__file__).resolve().parents[2]
ANSWER_WITHIN = 5.0  # seconds: a correctness limit on waiting, asserted with margin
SECRET = "fault-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass
class PrivateRedis:
    """A redis-server of the test's own; stop(), pause() and resume() act on it alone."""

    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError(f"the private Redis on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        """The process stops answering; its port still accepts connections."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def flush(self) -> None:
        redis.Redis(port=self.port, socket_timeout=2).flushall()


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: the fault tests start a Redis of their own")
    server = PrivateRedis(port=free_port())
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.resume()
        server.stop()


@dataclass
class Portal:
    redis: PrivateRedis
    ctx: Context
    server: Server
    leader_cookie: str
    team_id: int
    hamlet_id: int
    member_ids: list[int]
    service_id: int
    commune_id: int


@pytest.fixture
def portal(reference_data, divisions, tmp_path) -> Iterator[Portal]:
    commune = Commune.objects.get(code=14269)
    team = TeamFactory(commune=commune)
    hamlet = HamletFactory(commune=commune)
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=UserFactory(is_superuser=True), member=leader)
    database = connection.settings_dict
    with private_redis() as broker:
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": SECRET,
            "SECURE_HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
                f"{database['PORT'] or 5432}/{database['NAME']}"
            ),
            "REDIS_URL": broker.url,
            "REDIS_CACHE_URL": broker.url.replace("/0", "/1"),
            "ROLLUP_DEBOUNCE_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
        ctx = Context(size="tiny", visits=0, env=env, workdir=tmp_path, tiny=True)
        with Server(ctx) as server:
            yield Portal(
                redis=broker,
                ctx=ctx,
                server=server,
                leader_cookie=_session_cookie(user),
                team_id=team.pk,
                hamlet_id=hamlet.pk,
                member_ids=[leader.pk],
                service_id=Service.objects.order_by("pk").first().pk,
                commune_id=commune.pk,
            )


def _session_cookie(user) -> str:
    """A logged-in session, signed as the server (with its own SECRET_KEY) reads it."""
    original = django_settings.SECRET_KEY
    django_settings.SECRET_KEY = SECRET
    try:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
    finally:
        django_settings.SECRET_KEY = original
    return f"{django_settings.SESSION_COOKIE_NAME}={session.session_key}"


def _request(portal: Portal, method: str, path: str, body: str = "", cookie: str = ""):
    host, port = portal.server.base_url.removeprefix("http://").split(":")
    connection_ = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Cookie": cookie or portal.leader_cookie, "Host": "127.0.0.1"}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection_.request(method, path, body=body.encode(), headers=headers)
        response = connection_.getresponse()
        return response.status, response.getheaders(), response.read().decode()
    finally:
        connection_.close()


def _form_token(portal: Portal) -> tuple[str, str]:
    """The CSRF cookie and token of the visit form, fetched while Redis is still up."""
    status, headers, body = _request(portal, "GET", "/visits/new/")
    assert status == 200, body[:500]
    cookie = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and "csrf" in v)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    return f"{portal.leader_cookie}; {cookie}", token


def _submit(portal: Portal, cookie: str, token: str, n: int) -> tuple[int, float]:
    from urllib.parse import urlencode

    fields = [
        ("csrfmiddlewaretoken", token),
        ("submission_id", str(uuid.uuid4())),
        ("consent", "given"),
        ("visited_on", timezone.localdate().isoformat()),
        ("hamlet", portal.hamlet_id),
        ("address_label", f"Số {n}, ngõ lỗi"),
        ("head_name", f"Hộ {n}"),
        *(("members", pk) for pk in portal.member_ids),
        ("residents_helped", 1),
        ("services", portal.service_id),
        ("outcome", Visit.Outcome.HELPED),
        ("has_smartphone", "yes"),
    ]
    started = time.monotonic()
    status, _headers, _body = _request(portal, "POST", "/visits/new/", urlencode(fields), cookie)
    return status, time.monotonic() - started


def _send_as_beat(portal: Portal) -> None:
    """What beat does every five minutes: ask for the pending roll-up."""
    app = Celery(broker=portal.redis.url)
    try:
        app.send_task("dashboard.rollup_pending")
    finally:
        app.close()


def _figures_caught_up(portal: Portal, *, within: float = 60.0) -> bool:
    """Nothing left pending, and the summary counts each stored visit once."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        stored = Visit.objects.filter(team_id=portal.team_id).count()
        summed = (
            CommuneDay.objects.filter(commune_id=portal.commune_id).aggregate(n=Sum("visits"))["n"]
            or 0
        )
        if not PendingRollup.objects.exists() and summed == stored:
            return True
        time.sleep(0.3)
    return False


def _submissions_while(portal: Portal, fault, count: int = 4) -> list[tuple[int, float]]:
    cookie, token = _form_token(portal)
    fault()
    return [_submit(portal, cookie, token, n) for n in range(count)]


@pytest.mark.django_db(transaction=True)
def test_with_redis_refusing_connections_every_visit_is_saved_and_the_figures_catch_up(
    portal,
):
    answers = _submissions_while(portal, portal.redis.stop)

    assert [status for status, _ in answers] == [302] * 4
    assert max(seconds for _, seconds in answers) < ANSWER_WITHIN
    assert Visit.objects.filter(team_id=portal.team_id).count() == 4
    assert PendingRollup.objects.exists()  # the work to redo waits in Postgres

    portal.redis.start()
    with Worker(portal.ctx):
        _send_as_beat(portal)
        assert _figures_caught_up(portal)


@pytest.mark.django_db(transaction=True)
def test_with_redis_hung_the_form_still_answers_within_five_seconds(portal):
    answers = _submissions_while(portal, portal.redis.pause)
    portal.redis.resume()

    assert [status for status, _ in answers] == [302] * 4
    assert max(seconds for _, seconds in answers) < ANSWER_WITHIN
    assert Visit.objects.filter(team_id=portal.team_id).count() == 4
    with Worker(portal.ctx):
        _send_as_beat(portal)
        assert _figures_caught_up(portal)


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_loses_its_queue_delays_the_figures_and_never_loses_them(portal):
    answers = _submissions_while(portal, lambda: None)
    assert [status for status, _ in answers] == [302] * 4
    # The roll-up the submissions asked for is lost with the broker's data...
    portal.redis.flush()
    assert PendingRollup.objects.exists()

    # ...and beat's next run finds the work in Postgres.
    with Worker(portal.ctx):
        _send_as_beat(portal)
        assert _figures_caught_up(portal)
