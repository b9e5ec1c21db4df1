"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

One browser for the whole session (starting Chromium costs seconds); each test opens its
own contexts, so cookies, language and viewport never leak from one journey to the next.
The live server's database is flushed after every test, so each journey builds what it
needs, starting with the reference data a migration would have stored.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.utils import translation
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from accounts.models import User
from accounts.roles import role_groups_sync
from accounts.tests.factories import UserFactory
from communes.models import Commune, Hamlet
from communes.services import divisions_load
from outreach.catalogue import SERVICE_LABELS, services_sync
from outreach.models import Member, Team
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from trainings.catalogue import topics_sync

ROOT = Path(__file__).resolve().parent.parent
# Each journey's final page is written here; the README shows three of them.
# Written on every run (they carry the day's date), so outside the tracked tree; the
# README shows copies kept in docs/screenshots.
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

# Debian's package, never a browser downloaded by `playwright install`.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
PASSWORD = "correct horse battery staple"  # accounts.tests.factories.UserFactory's
HAI_DONG = 14269  # Xã Hải Đông, in Huyện Hải Hậu


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"No Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does).")
    # The sync API keeps an event loop running in the test thread, and Django refuses
    # ORM calls from a thread with a running loop unless told it is safe: here it is,
    # since the test thread only prepares and checks data while the browser waits.
    unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if unsafe is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe


@contextmanager
def csp_watched_contexts(browser: Browser, base_url: str) -> Iterator[Callable[..., Page]]:
    """Open pages in fresh contexts on `base_url`: new_page(**context options).

    The browser asks for Vietnamese first, as people's phones in Nam Định do, on a phone's
    screen unless told otherwise. The portal's Content-Security-Policy is enforced, and
    leaving the block fails if any page it opened broke it (an inline script or style the
    policy refused); the contexts are closed first.
    """
    contexts, refused = [], []

    def new_page(**options) -> Page:
        context = browser.new_context(
            base_url=base_url,
            **{"viewport": PHONE, "locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh", **options},
        )
        context.set_default_timeout(10_000)
        context.on(
            "console",
            lambda message: (
                refused.append(f"{message.page.url if message.page else ''}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        contexts.append(context)
        return context.new_page()

    new_page.refused = refused  # for the test that proves the listener hears a refusal
    yield new_page
    for context in contexts:
        context.close()
    assert not refused, "The Content-Security-Policy refused:\n" + "\n".join(refused)


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh context on the live server: open_page(viewport=PHONE,
    javascript=True, csp=True), as csp_watched_contexts does; only a test that injects
    the accessibility checker opens its pages with csp=False."""
    with csp_watched_contexts(browser, live_server.url) as new_page:

        def _open(*, viewport: dict = PHONE, javascript: bool = True, csp: bool = True) -> Page:
            return new_page(
                viewport=viewport,
                java_script_enabled=javascript,
                bypass_csp=not csp,
                accept_downloads=True,
            )

        _open.refused = new_page.refused
        yield _open


@pytest.fixture(autouse=True)
def reference_data(live_server):
    """What migrations and load_divisions store, put back after the previous test's flush."""
    role_groups_sync(apps)
    services_sync(apps)
    topics_sync(apps)
    divisions_load()


def vi(text) -> str:
    """The Vietnamese a page shows for an English source string (or a lazy one)."""
    with translation.override("vi"):
        return translation.gettext(str(text))


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form, as a person would, and land on the home page."""
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def menu(page: Page) -> Locator:
    """The header's menu, opened through its button where the screen folds it away (a
    phone); on a wider screen it is always shown."""
    button = page.locator("header summary.menu-button")
    if button.is_visible() and page.locator("header details.menu-toggle[open]").count() == 0:
        button.click()
    return page.locator("header nav.site-nav")


def screenshot(page: Page, name: str) -> Path:
    """What the viewport shows, as SCREENSHOTS/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, animations="disabled")
    return path


SERIOUS = ("serious", "critical")


def serious_accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands, one line each."""
    # Injected as an inline script: the page must be opened with csp=False.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']} {v['id']}: {v['help']} at "
        + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in SERIOUS
    ]


# --- A team leader, for the journeys on a phone ------------------------------------------


@dataclass
class Leader:
    """A team leader with a login, and the team and hamlet they work in."""

    user: User
    password: str
    member: Member
    team: Team
    hamlet: Hamlet


def make_leader(commune: Commune, *, phone: str, name: str, hamlet: str) -> Leader:
    """A team in the hamlet of that name, its leader with a login, and one more member."""
    admin = User.objects.filter(is_superuser=True).first() or UserFactory(is_superuser=True)
    place = HamletFactory(commune=commune, name=hamlet)
    team = TeamFactory(commune=commune, hamlet=place, name=f"Tổ công nghệ số {hamlet}")
    member = MemberFactory(team=team, role=Member.Role.LEADER, phone=phone, full_name=name)
    MemberFactory(team=team, full_name=f"Phạm Thị Hoa ({hamlet})")
    user, password = member_login_create(by=admin, member=member)
    return Leader(user=user, password=password, member=member, team=team, hamlet=place)


@pytest.fixture
def leader() -> Leader:
    return make_leader(
        Commune.objects.get(code=HAI_DONG), phone="0912345678", name="Trần Văn Minh", hamlet="Đông"
    )


def fill_visit(page: Page, leader: Leader, *, address: str, head: str, services: list[str]) -> None:
    """Fill in the visit form as the leader would, for a new household that agreed."""
    page.get_by_label(vi("Hamlet"), exact=True).select_option(label=leader.hamlet.name)
    page.get_by_label(vi("Agreed to be recorded"), exact=True).check()
    page.get_by_label(vi("Address"), exact=True).fill(address)
    page.get_by_label(vi("Head of household (if new)"), exact=True).fill(head)
    page.get_by_label(leader.member.full_name, exact=True).check()
    page.get_by_label(vi("Residents helped"), exact=True).fill("3")
    for code in services:
        page.get_by_label(vi(SERVICE_LABELS[code]), exact=True).check()
