"""What the fault tests share: a real portal (gunicorn with the production settings, a
Celery worker when a test starts one) on services of the test's own, and the visits
they send it.

Every service a fault test breaks is private: a Redis, or a PostgreSQL cluster, started
on a free port for the test and removed in `finally`. The shared Postgres and Redis that
the rest of the suite uses are never stopped, paused or flushed.
"""

import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from celery import Celery
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bench.harness import Context
from bench.processes import PrivateRedis, Server, free_port
from communes.models import Commune
from dashboard.models import CommuneDay, PendingRollup
from outreach.models import Member, Service, Visit
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

ANSWER_WITHIN = 5.0  # seconds: a correctness limit on waiting, asserted with margin
SECRET = "fault-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
HAI_DONG = 14269


# --- A private Redis ------------------------------------------------------------------------


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


# --- The portal and what its visits need ---------------------------------------------------


@dataclass
class World:
    """A team of Hải Đông with its leader logged in, committed in the test database."""

    leader_cookie: str
    team_id: int
    hamlet_id: int
    member_ids: list[int]
    service_ids: list[int]
    commune_id: int


def world_create() -> World:
    commune = Commune.objects.get(code=HAI_DONG)
    team = TeamFactory(commune=commune)
    hamlet = HamletFactory(commune=commune)
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=UserFactory(is_superuser=True), member=leader)
    return World(
        leader_cookie=_session_cookie(user),
        team_id=team.pk,
        hamlet_id=hamlet.pk,
        member_ids=[leader.pk],
        service_ids=list(Service.objects.order_by("pk").values_list("pk", flat=True)[:2]),
        commune_id=commune.pk,
    )


def _session_cookie(user) -> str:
    """A logged-in session, signed as the server (with its own SECRET_KEY) reads it."""
    original = django_settings.SECRET_KEY
    django_settings.SECRET_KEY = SECRET
    try:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "accounts.backends.CachedPermissionBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
    finally:
        django_settings.SECRET_KEY = original
    return f"{django_settings.SESSION_COOKIE_NAME}={session.session_key}"


def shared_database_url() -> str:
    """The test database, as a process of the portal's reaches it."""
    database = connection.settings_dict
    return (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


@dataclass
class Portal:
    world: World
    redis: PrivateRedis
    ctx: Context
    server: Server
    database_url: str

    @property
    def leader_cookie(self) -> str:
        return self.world.leader_cookie


@contextmanager
def running_portal(
    world: World,
    broker: PrivateRedis,
    database_url: str,
    workdir: Path,
    *,
    gunicorn: dict | None = None,
    **env: str,
) -> Iterator[Portal]:
    """gunicorn on the given database and broker; `env` adds to the production settings
    (a Worker started with portal.ctx has the same environment), `gunicorn` to Server's
    options (processes, worker class)."""
    ctx = Context(
        size="tiny",
        visits=0,
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": SECRET,
            "SECURE_HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker.url,
            "REDIS_CACHE_URL": broker.cache_url,
            "ROLLUP_DEBOUNCE_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            **env,
        },
        workdir=workdir,
        tiny=True,
    )
    with Server(ctx, **(gunicorn or {})) as server:
        yield Portal(world, broker, ctx, server, database_url)


@contextmanager
def portal_on_shared_database(workdir: Path, **env: str) -> Iterator[Portal]:
    """A world in the test database, a private Redis and gunicorn on both."""
    world = world_create()
    with (
        private_redis() as broker,
        running_portal(world, broker, shared_database_url(), workdir, **env) as portal,
    ):
        yield portal


def request(portal: Portal, method: str, path: str, body: str = "", cookie: str = ""):
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


def form_token(portal: Portal) -> tuple[str, str]:
    """The CSRF cookie and token of the visit form, fetched while everything is up."""
    status, headers, body = request(portal, "GET", "/visits/new/")
    assert status == 200, body[:500]
    cookie = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and "csrf" in v)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    return f"{portal.leader_cookie}; {cookie}", token


@dataclass
class Submission:
    """One visit as the phone sends it: the same body each time it is sent again."""

    body: str
    submission_id: str
    answers: list[int] = field(default_factory=list)


def visit_submission(portal: Portal, token: str, n: int) -> Submission:
    submission_id = str(uuid.uuid4())
    world = portal.world
    fields = [
        ("csrfmiddlewaretoken", token),
        ("submission_id", submission_id),
        ("consent", "given"),
        ("visited_on", timezone.localdate().isoformat()),
        ("hamlet", world.hamlet_id),
        ("address_label", f"Số {n}, ngõ lỗi"),
        ("head_name", f"Hộ {n}"),
        *(("members", pk) for pk in world.member_ids),
        ("residents_helped", 1),
        *(("services", pk) for pk in world.service_ids),
        ("outcome", Visit.Outcome.HELPED),
        ("has_smartphone", "yes"),
    ]
    return Submission(body=urlencode(fields), submission_id=submission_id)


def send(portal: Portal, cookie: str, submission: Submission) -> tuple[int, float]:
    """Post the visit form once; its answer's status and how long it took."""
    started = time.monotonic()
    try:
        status, _headers, _body = request(portal, "POST", "/visits/new/", submission.body, cookie)
    except OSError:
        status = 0  # no answer at all
    submission.answers.append(status)
    return status, time.monotonic() - started


def submit(portal: Portal, cookie: str, token: str, n: int) -> tuple[int, float]:
    return send(portal, cookie, visit_submission(portal, token, n))


def send_as_beat(portal: Portal) -> None:
    """What beat does every five minutes: ask for the pending roll-up."""
    # Not made the current app: tests after this one would find its empty beat schedule.
    app = Celery(broker=portal.redis.url, set_as_current=False)
    try:
        app.send_task("dashboard.rollup_pending")
    finally:
        app.close()


def wait_until(condition: Callable[[], bool], within: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def figures_caught_up(portal: Portal, *, within: float = 60.0) -> bool:
    """Nothing left pending, and the summary counts each stored visit once (read in the
    test database, where the portal's own database is the test's)."""

    def caught_up() -> bool:
        stored = Visit.objects.filter(team_id=portal.world.team_id).count()
        summed = (
            CommuneDay.objects.filter(commune_id=portal.world.commune_id).aggregate(
                n=Sum("visits")
            )["n"]
            or 0
        )
        return not PendingRollup.objects.exists() and summed == stored

    return wait_until(caught_up, within, every=0.3)


# --- A private PostgreSQL cluster ----------------------------------------------------------


def _postgres_bin(name: str) -> str:
    """A server program of the newest PostgreSQL installed (Debian keeps them by version)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    path = str(found[-1]) if found else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: the fault tests start a PostgreSQL of their own")
    return path


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own on a free port: stop() and start() act on
    it alone. The server refuses to run as root, so as root it runs as `postgres`."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "portal") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 60) -> None:
        # As root, the server's programs run as `postgres` (set in the child by Python:
        # no runuser or su to find on a CI's PATH).
        as_postgres = {"user": "postgres", "group": "postgres", "extra_groups": []}
        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.directory,
            **(as_postgres if os.geteuid() == 0 else {}),
        )
        if finished.returncode != 0:
            raise RuntimeError(f"{command} failed: {finished.stdout}{finished.stderr}")

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            _postgres_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
            # A scratch cluster: nothing to keep if the machine itself goes down.
            " -c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            _postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.directory / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def clone(self, source_url: str, database: str = "portal") -> None:
        """A copy of a database of the shared server: what the test committed there."""
        target = self.url("postgres")
        subprocess.run(
            ["psql", target, "-q", "-c", f'CREATE DATABASE "{database}" TEMPLATE template0'],
            check=True,
            capture_output=True,
        )
        dump = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", source_url],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", self.url(database)],
            input=dump.stdout,
            check=True,
            capture_output=True,
        )


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    # Not under pytest's tmp_path: its parents are closed to the `postgres` user.
    directory = Path(tempfile.mkdtemp(prefix="portal-fault-pg-"))
    server = PrivatePostgres(directory)
    try:
        server.create()
        server.start()
        yield server
    finally:
        try:
            if server.running():
                server.stop("immediate")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
