"""The newcomer's path: no DATABASE_URL, no REDIS_URL, nothing but Python."""

import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bench.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


class Embedded:
    """The portal as `make run` runs it: DEBUG on, a SQLite file, tasks run eagerly."""

    def __init__(self, sqlite_path: Path):
        self.sqlite_path = sqlite_path
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
        }
        self.env.update(
            DEBUG="true",
            SQLITE_PATH=str(sqlite_path),
            DJANGO_SETTINGS_MODULE="config.settings",
        )

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def python(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", code)


@pytest.fixture(scope="module")
def migrated_file(tmp_path_factory) -> Path:
    """A fresh SQLite file migrated and loaded with the province's units, as `make run`
    starts, once for the module: each test works on its own copy."""
    first = Embedded(tmp_path_factory.mktemp("embedded") / "portal.sqlite3")
    first.manage("migrate", "--noinput")
    assert "237 created" in first.manage("load_divisions")
    return first.sqlite_path


@pytest.fixture
def embedded(tmp_path, migrated_file) -> Embedded:
    copy = tmp_path / "portal.sqlite3"
    # The processes that wrote it have ended, so the file holds everything (no WAL left).
    shutil.copyfile(migrated_file, copy)
    return Embedded(copy)


@pytest.mark.smoke
def test_a_fresh_sqlite_file_migrates_loads_seeds_and_serves_the_home_page(embedded, tmp_path):
    assert "demo_tinh" in embedded.manage("seed_demo")
    # The home page, and the provincial dashboard, which computes its figures on SQLite
    # too (its levels' read takes SQLite's JSON_ARRAY where PostgreSQL's takes an ARRAY).
    pages = embedded.python(
        "from django.test import Client; from accounts.models import User; c = Client(); "
        "r = c.get('/', HTTP_HOST='localhost'); "
        "print('STATUS', r.status_code); print(r.content.decode()); "
        "c.force_login(User.objects.get(username='demo_tinh')); "
        "r = c.get('/dashboard/?period=custom&start=2025-01-01&end=2026-06-30', "
        "HTTP_HOST='localhost'); "
        "print('STATUS', r.status_code); print(r.content.decode())",
    )
    _, home, dashboard = pages.split("STATUS ")
    status, html = home.split("\n", 1)
    assert status.strip() == "200"
    assert "Tỉnh Nam Định" in html
    assert "Huyện Hải Hậu" in html
    assert "demo-ribbon" in html
    assert (tmp_path / "portal.sqlite3").exists()
    status, html = dashboard.split("\n", 1)
    assert status.strip() == "200"
    assert 'class="data ranking"' in html and "Hải Hậu" in html


# --- Several phones at once on the SQLite file ---------------------------------------------

VISITS, THREADS = 20, 8

# A team of Hải Đông whose leader has a login, made through the services as a commune
# official would; prints what the phones need to fill in the form.
TEAM_SETUP = """
import datetime as dt, json
from accounts.models import ScopeLevel
from accounts.services import user_create
from communes.models import Commune
from outreach.models import Member, Service
from outreach.services import member_create, member_login_create, team_create
from outreach.services.hamlets import hamlet_create
commune = Commune.objects.get(code=14269)
official = user_create(username="can_bo_xa", password=None, scope_level=ScopeLevel.COMMUNE,
                       commune=commune)
hamlet = hamlet_create(by=official, commune=commune, name="Thôn Đông")
team = team_create(by=official, commune=commune, name="Tổ Đông", formed_on=dt.date(2024, 1, 1))
leader = member_create(by=official, team=team, full_name="Trần Văn An", phone="0912345678",
                       role=Member.Role.LEADER, joined_on=dt.date(2024, 1, 1))
member = member_create(by=official, team=team, full_name="Lê Thị Bình", phone="0912345679",
                       role=Member.Role.MEMBER, joined_on=dt.date(2024, 1, 1))
user, password = member_login_create(by=official, member=leader)
print(json.dumps({
    "login": user.username, "password": password, "hamlet": hamlet.pk,
    "members": [leader.pk, member.pk],
    "services": list(Service.objects.filter(is_active=True).values_list("pk", flat=True)[:2]),
}))
"""

STORED = """
import json
from django.db.models import Sum
from dashboard.models import PendingRollup
from dashboard.models import CommuneDay
from outreach.models import Visit
print(json.dumps({
    "submissions": [str(s) for s in Visit.objects.values_list("submission_id", flat=True)],
    "households": Visit.objects.values("household").distinct().count(),
    "pending": PendingRollup.objects.count(),
    "on_dashboard": CommuneDay.objects.aggregate(n=Sum("visits"))["n"],
}))
"""


@contextmanager
def runserver(embedded: Embedded, log: Path) -> Iterator[int]:
    """`manage.py runserver` (threaded, as `make run` serves) on a free port, always stopped."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=embedded.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not _answers(port):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield port
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


class Phone:
    """One browser session over HTTP, keeping its cookies as a browser does."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields=None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            # A list is a multiple choice: one field for each value, as a browser sends it.
            body = urlencode(fields, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _sep, rest = value.partition("=")
                    self.cookies[key] = rest.split(";", 1)[0]
            return response.status, response.read().decode()
        finally:
            connection.close()

    def form(self, path: str) -> dict[str, str]:
        """The page's hidden fields (its CSRF token, a visit's submission id)."""
        status, page = self.request("GET", path)
        assert status == 200, page[:2000]
        return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page))

    def log_in(self, login: str, password: str) -> int:
        hidden = self.form("/accounts/login/")
        status, _page = self.request(
            "POST", "/accounts/login/", {**hidden, "username": login, "password": password}
        )
        return status


@pytest.mark.smoke
def test_twenty_visits_posted_at_once_from_eight_phones_on_the_sqlite_file_are_all_stored(
    embedded, tmp_path
):
    world = json.loads(embedded.python(TEAM_SETUP).strip().splitlines()[-1])
    everyone_ready = threading.Barrier(THREADS)
    # Yesterday in UTC is never in the future in Vietnam (UTC+7).
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()

    def visit(n: int) -> dict:
        return {
            "consent": "given",
            "visited_on": yesterday,
            "hamlet": world["hamlet"],
            "address_label": f"Số {n}, ngõ 7",
            "head_name": f"Hộ thứ {n}",
            "members": world["members"],
            "residents_helped": 2,
            "services": world["services"],
            "outcome": "helped",
            "has_smartphone": "yes",
        }

    def phone_sends(index: int) -> list[tuple[str, int]]:
        phone = Phone(port)
        assert phone.log_in(world["login"], world["password"]) == 302
        sent = []
        for n in range(index, VISITS, THREADS):
            hidden = phone.form("/visits/new/")
            if n < THREADS:
                everyone_ready.wait(timeout=60)  # the first eight posts leave together
            status, _page = phone.request("POST", "/visits/new/", {**hidden, **visit(n)})
            sent.append((hidden["submission_id"], status))
        return sent

    with (
        runserver(embedded, tmp_path / "runserver.log") as port,
        ThreadPoolExecutor(THREADS) as pool,
    ):
        sent = [answer for answers in pool.map(phone_sends, range(THREADS)) for answer in answers]
    log = (tmp_path / "runserver.log").read_text()

    assert [status for _id, status in sent] == [302] * VISITS, log[-5000:]
    assert "database is locked" not in log
    stored = json.loads(embedded.python(STORED).strip().splitlines()[-1])
    assert sorted(stored["submissions"]) == sorted(str(uuid.UUID(i)) for i, _s in sent)
    assert stored["households"] == VISITS
    # The roll-up that runs after each visit waited its turn too: the dashboard counts all.
    assert stored["pending"] == 0
    assert stored["on_dashboard"] == VISITS


@pytest.mark.smoke
def test_the_roll_ups_figures_are_exact_on_the_sqlite_file(tmp_path):
    """The roll-up's oracle tests, run on SQLite: its rows are replaced rather than
    compared there, and its running totals take another path (a join any database
    runs), which the suite on PostgreSQL never takes."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'oracle.sqlite3'}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:xdist",
            "--create-db",
            "dashboard/tests/test_rollup.py",
            "-k",
            "random_changes or full_roll_up_twice",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b3 passed\b", result.stdout), result.stdout[-2000:]
