"""Issue 19's first load of the visit form as a phone meets production.

    python -m bench.offline_budget

gunicorn with the production settings (DEBUG off, hashed and compressed static files
from WhiteNoise), a fresh browser context logged in as a team leader, Chromium's network
emulation at the issue's 1.6 Mbit/s down, 750 kbit/s up, 150 ms; every byte counted on
the wire by e2e's proxy, the service worker's install and precache included. The browser
journeys (e2e/test_offline.py) assert the byte budgets against the test server, whose
static files are neither hashed nor compressed; this measures what production sends.
Works on a database of its own (offline_budget) and Redis databases 10 and 11.
"""

# The settings come from the bench's environment, set before Django and the models load.
# ruff: noqa: E402

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
from bench.run import bench_env, database_ensure

env = bench_env("offline_budget", 10)
os.environ.update(env)
database_ensure("offline_budget")
import django

django.setup()
from django.core.management import call_command

call_command("migrate", verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
call_command("load_divisions", verbosity=0)
from accounts.models import User
from communes.models import Commune
from outreach.models import Member
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
    "budget_admin", password="x-very-long-pass-123"
)
commune = Commune.objects.get(code=14269)
member = Member.objects.filter(phone="0912000111").first()
if member is None:
    hamlet = HamletFactory(commune=commune, name="Đông")
    team = TeamFactory(commune=commune, hamlet=hamlet, name="Tổ công nghệ số Đông (đo)")
    member = MemberFactory(
        team=team, role=Member.Role.LEADER, phone="0912000111", full_name="Trần Văn Đo"
    )
    MemberFactory(team=team, full_name="Phạm Thị Hoa")
if member.user_id:
    # A run before made the login: a password of this run's own.
    user, password = member.user, "budget-leader-password-0123"
    user.set_password(password)
    user.save(update_fields=["password"])
else:
    user, password = member_login_create(by=admin, member=member)
from e2e.offline_support import SLOW_PHONE, SW_CONTROLS, NetworkLog, SwitchableProxy

port = 8765
server = subprocess.Popen(
    [
        ".venv/bin/gunicorn",
        "config.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "1",
        "-k",
        "gthread",
        "--threads",
        "4",
    ],
    env={**os.environ},
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
time.sleep(3)
from playwright.sync_api import sync_playwright

out = {}
try:
    with SwitchableProxy(f"http://127.0.0.1:{port}") as proxy, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        ctx = browser.new_context(
            base_url=proxy.url, viewport={"width": 390, "height": 844}, locale="vi-VN"
        )
        p = ctx.new_page()
        p.goto("/accounts/login/")
        p.locator("input[name=username]").fill(user.username)
        p.locator("input[name=password]").fill(password)
        p.locator("main button[type=submit]").click()
        p.wait_for_url(lambda u: "/accounts/login/" not in u)
        state = ctx.storage_state()
        ctx.close()
        ctx = browser.new_context(
            base_url=proxy.url,
            viewport={"width": 390, "height": 844},
            locale="vi-VN",
            storage_state=state,
        )
        page = ctx.new_page()
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        log = NetworkLog(cdp)
        cdp.send("Network.emulateNetworkConditions", SLOW_PHONE)
        mark = proxy.mark()
        t = time.monotonic()
        page.goto("/visits/new/")
        page.wait_for_function("() => document.documentElement.dataset.offline === 'ready'")
        out["ready_s"] = time.monotonic() - t
        out["page_bytes_devtools"] = log.bytes()
        page.wait_for_function(SW_CONTROLS, timeout=60000)
        page.wait_for_load_state("networkidle")
        time.sleep(2)
        ex = proxy.since(mark)
        out["wire_received_with_worker_and_precache"] = sum(e.received for e in ex)
        out["wire_sent"] = sum(e.sent for e in ex)
        out["requests"] = [f"{e.method} {e.path} {e.received}" for e in ex]
        browser.close()
finally:
    server.terminate()
    server.wait()
print(json.dumps(out, indent=1))
