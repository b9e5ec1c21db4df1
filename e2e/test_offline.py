"""The visit form where the signal does not reach: installable, offline, and every queued
visit stored exactly once (issue 19).

"Offline" is the server really out of reach: the browser only ever talks to a
SwitchableProxy (e2e/offline_support.py) in front of the live server, which the journeys
switch down, up, or to losing the answers to posts. The browser's own offline switch
would not stop the service worker, which is what keeps the form on the phone.

Pages are in Vietnamese (the browser asks for it first) on a 390 × 844 phone; texts are
found through their translation, so a missing one fails the journey.
"""

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.tests.factories import commune_official
from communes.models import Commune
from dashboard.models import CommuneDay
from dashboard.rollup import rollup_full
from outreach.models import Household, Member, Visit
from outreach.services import visit_record
from outreach.services.teams import member_deactivate
from outreach.services.visits import VisitData

from .conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HAI_DONG,
    PHONE,
    ROOT,
    Leader,
    csp_watched_contexts,
    fill_visit,
    log_in,
    menu,
    screenshot,
    vi,
)
from .offline_support import (
    NAVIGATION_TIMES,
    READY_CLOCK,
    SLOW_PHONE,
    SW_CONTROLS,
    NetworkLog,
    SwitchableProxy,
    cached_pages,
    outbox_entries,
    wait_offline_ready,
    wait_until,
)

pytestmark = pytest.mark.e2e

# The figures of the budgets, written for docs/benchmarks.md; the seconds are not
# asserted (the house's rule: no test fails on a stopwatch), the bytes are.
BUDGETS = ROOT / "build" / "bench" / "offline-budgets.json"
KB = 1000

# What the outbox page and the form say (static/js/offline/*, from the templates' data-*).
WAITING = "Waiting to be sent"
SENT = "Sent"
ATTENTION = "Needs attention"
SAVED_OFFLINE = "No connection: the visit is saved on this phone and will be sent by itself."
LOGIN_AGAIN = "Your session has ended. Log in again to send the visits waiting on this phone."

# Two households of the street the team visited before, which the phone has seen.
KNOWN = {"Số 3, ngõ Chùa": "Đặng Văn Hùng", "Số 5, ngõ Chùa": "Ngô Thị Lan"}


@pytest.fixture
def proxy(live_server) -> Iterator[SwitchableProxy]:
    with SwitchableProxy(live_server.url) as running:
        yield running


@pytest.fixture
def open_phone(browser, proxy) -> Iterator[Callable[..., Page]]:
    """A page in a fresh context on the phone, talking to the portal through the proxy,
    as e2e.conftest's open_page does with the live server. Options are the context's
    (storage_state, ...)."""
    with csp_watched_contexts(browser, proxy.url) as new_page:
        yield new_page


def _form() -> str:
    return reverse("outreach:visit_new")


def _outbox() -> str:
    return reverse("outreach:visit_outbox")


def _ready_for_offline(page: Page) -> None:
    """The phone as a leader has it after a while online: the service worker controls
    the portal, and keeps its copies of the pages a leader opens without a signal."""
    wait_offline_ready(page)
    page.wait_for_function(SW_CONTROLS)
    kept = ["/", _outbox(), _form()]
    for path in kept:
        page.goto(path)
        wait_offline_ready(page)
    wait_until(lambda: set(kept) <= set(cached_pages(page)), "the phone's copies of the pages")


def _visited_before(leader: Leader) -> dict[str, Household]:
    """The two KNOWN households, visited ten days ago (rolled up)."""
    day = timezone.localdate() - dt.timedelta(days=10)
    for address, head in KNOWN.items():
        visit_record(
            by=leader.user,
            team=leader.team,
            submission_id=uuid.uuid4(),
            hamlet=leader.hamlet,
            address_label=address,
            head_name=head,
            consent=Household.Consent.GIVEN,
            data=VisitData(visited_on=day, members=[leader.member], residents_helped=1),
        )
    rollup_full()
    return {h.address_label: h for h in Household.objects.filter(address_label__in=KNOWN)}


def _save(page: Page) -> None:
    # Until its script has opened the phone's storage, the form would post natively.
    expect(page.locator("form.visit-form")).to_have_attribute("data-offline", "ready")
    page.get_by_role("button", name=vi("Save visit")).click()


def _saved_on_the_phone(page: Page) -> None:
    """Saved without a signal: the notice says so, and the form is ready for the next."""
    expect(page.get_by_text(vi(SAVED_OFFLINE))).to_be_visible()
    expect(page.get_by_label(vi("Address"), exact=True)).to_have_value("")


def _fill_known(page: Page, leader: Leader, address: str) -> None:
    """A return visit: the address picked from what the phone offers as it is typed."""
    page.get_by_label(vi("Hamlet"), exact=True).select_option(label=leader.hamlet.name)
    field = page.get_by_label(vi("Address"), exact=True)
    field.fill("so 3" if address.startswith("Số 3") else "so 5")  # typed without marks
    expect(page.locator("#household-options option")).to_have_count(1)
    expect(page.locator("#household-options option").first).to_have_attribute("value", address)
    field.fill(address)
    page.get_by_label(leader.member.full_name, exact=True).check()
    page.get_by_label(vi("Residents helped"), exact=True).fill("2")
    page.get_by_label(vi("Online fee payment"), exact=True).check()


def _tried(page: Page) -> None:
    """The page's own attempt at sending what waits, made as it opened, is over (it
    would otherwise carry on the moment the portal answers again)."""
    expect(page.locator("html")).to_have_attribute("data-offline-flush", "done")


def _badge(page: Page):
    return page.locator("#outbox-badge")


def _entries(page: Page):
    return page.locator("#outbox-list > li")


def _in_state(page: Page, state: str):
    """The outbox page's entries whose state reads `state` (an element of its own)."""
    return _entries(page).filter(has=page.get_by_text(vi(state), exact=True))


def _tile(page: Page, figure: str):
    return page.locator(f"li.tile[data-figure={figure}] .tile-value")


# --- Installable ----------------------------------------------------------------------------


def test_the_portal_can_be_installed_and_its_service_worker_controls_the_page(
    browser, proxy, leader, tmp_path
):
    # A profile of its own on disk: Chromium refuses to install from an incognito
    # context, which is what every other test's context is.
    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profile",
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        base_url=proxy.url,
        viewport=PHONE,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    try:
        context.set_default_timeout(10_000)
        page = context.pages[0] if context.pages else context.new_page()
        log_in(page, leader.user.username, leader.password)
        expect(page.locator("link[rel=manifest]")).to_have_attribute(
            "href", reverse("web_manifest")
        )
        wait_offline_ready(page)
        assert page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")

        page.reload()
        wait_offline_ready(page)
        assert page.evaluate(SW_CONTROLS)
        assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL") == (
            f"{proxy.url}{reverse('service_worker')}"
        )

        devtools = context.new_cdp_session(page)
        manifest = devtools.send("Page.getAppManifest")
        assert manifest["url"] == f"{proxy.url}{reverse('web_manifest')}"
        assert manifest["errors"] == []
        installable = devtools.send("Page.getInstallabilityErrors")
        assert installable["installabilityErrors"] == []
        data = json.loads(manifest["data"])
        assert data["name"] == vi("Digital citizens of Nam Định")
        assert data["start_url"] == "/" and data["display"] == "standalone"
        assert {icon["sizes"] for icon in data["icons"]} >= {"192x192", "512x512"}
    finally:
        context.close()


# --- Offline, then online: every visit stored once ----------------------------------------


def test_three_visits_logged_offline_wait_on_the_phone_and_are_stored_once_back_online(
    open_phone, proxy, leader
):
    known = _visited_before(leader)
    page = open_phone()
    log_in(page, leader.user.username, leader.password)
    _ready_for_offline(page)
    page.goto("/")  # the leader's team page, before
    expect(_tile(page, "visits_total")).to_have_text("2")
    expect(_tile(page, "households_reached")).to_have_text("2")
    # Online, the leader looks the street up once: the phone keeps what it found.
    page.goto(_form())
    page.get_by_label(vi("Hamlet"), exact=True).select_option(label=leader.hamlet.name)
    page.get_by_label(vi("Address"), exact=True).fill("Số")
    expect(page.locator("#household-options option")).to_have_count(2)

    proxy.mode = proxy.DOWN
    page.goto(_form())  # the phone's copy
    expect(page.get_by_role("heading", level=1)).to_have_text(vi("Log a visit"))
    fill_visit(page, leader, address="Số 8, ngõ Chùa", head="Lý Văn Tâm", services=["ecommerce"])
    _save(page)
    _saved_on_the_phone(page)
    expect(_badge(page)).to_be_visible()
    expect(_badge(page).locator(".count")).to_have_text("1")
    page.get_by_text(vi(SAVED_OFFLINE)).scroll_into_view_if_needed()
    screenshot(page, "offline-form")
    for address in KNOWN:
        _fill_known(page, leader, address)
        _save(page)
        _saved_on_the_phone(page)
    expect(_badge(page).locator(".count")).to_have_text("3")
    queued = outbox_entries(page)
    assert {entry["state"] for entry in queued} == {"waiting"}
    assert {entry["user_id"] for entry in queued} == {str(leader.user.pk)}
    ids = {entry["submission_id"] for entry in queued}
    assert len(ids) == 3
    assert Visit.objects.count() == 2 and proxy.refused > 0  # nothing reached the server

    # The browser closed, the phone still without a signal.
    context = page.context
    page.close()
    page = context.new_page()
    page.goto(_outbox())
    expect(page.get_by_role("heading", level=1)).to_have_text(vi("Visits waiting to be sent"))
    expect(_entries(page)).to_have_count(3)
    expect(_in_state(page, WAITING)).to_have_count(3)
    for address in ("Số 8, ngõ Chùa", *KNOWN):
        expect(_entries(page).filter(has_text=address)).to_have_count(1)
    expect(_badge(page).locator(".count")).to_have_text("3")

    _tried(page)
    proxy.mode = proxy.UP
    page.get_by_role("button", name=vi("Send now")).click()

    expect(_in_state(page, SENT)).to_have_count(3)
    expect(_badge(page)).to_be_hidden()
    assert Visit.objects.count() == 5
    assert {str(i) for i in Visit.objects.values_list("submission_id", flat=True)} >= ids
    assert Visit.objects.filter(submission_id__in=ids).count() == 3
    for household in known.values():
        assert household.visits.count() == 2
    new = Household.objects.get(address_label="Số 8, ngõ Chùa")
    assert new.head_name == "Lý Văn Tâm" and new.visits.count() == 1
    today = CommuneDay.objects.get(commune__code=HAI_DONG, day=timezone.localdate())
    assert (today.visits, today.households_first, today.return_visits) == (3, 1, 2)

    page.goto("/")  # the leader's team page: its figures count the three
    expect(_tile(page, "visits_total")).to_have_text("5")
    expect(_tile(page, "households_reached")).to_have_text("3")


def test_a_visit_whose_answer_was_lost_is_sent_again_and_stored_once(open_phone, proxy, leader):
    page = open_phone()
    log_in(page, leader.user.username, leader.password)
    _ready_for_offline(page)

    # The post reaches the server, which stores the visit; the answer never comes back.
    proxy.mode = proxy.DROP_RESPONSES
    page.goto(_form())
    fill_visit(page, leader, address="Số 12, ngõ Giếng", head="Cao Văn Phúc", services=["other"])
    mark = proxy.mark()
    _save(page)
    _saved_on_the_phone(page)
    assert Visit.objects.count() == 1  # stored, though the phone cannot know it
    (queued,) = outbox_entries(page)
    assert queued["state"] == "waiting"

    proxy.mode = proxy.UP
    page.goto(_outbox())  # any page of the portal sends what waits

    # The login's check, a fresh token and the post again, on a 2-core machine busy with
    # the rest of the suite: more than expect()'s 5 s default at times.
    expect(_in_state(page, SENT)).to_have_count(1, timeout=20_000)
    expect(_badge(page)).to_be_hidden()
    posts = [e for e in proxy.since(mark) if e.method == "POST" and e.path == _form()]
    assert len(posts) >= 2 and posts[0].dropped and not posts[-1].dropped
    visit = Visit.objects.get()  # queued twice, stored once
    assert str(visit.submission_id) == queued["submission_id"]
    assert visit.household.address_label == "Số 12, ngõ Giếng"
    page.get_by_role("link", name=vi("See the visit")).click()
    expect(page).to_have_url(re.compile(rf"/visits/{visit.pk}/$"))


def test_refused_visits_wait_in_the_outbox_with_their_reason_and_are_corrected_and_sent(
    open_phone, proxy, leader
):
    hoa = Member.objects.get(team=leader.team, role=Member.Role.MEMBER)
    page = open_phone()
    log_in(page, leader.user.username, leader.password)
    _ready_for_offline(page)

    proxy.mode = proxy.DOWN
    page.goto(_form())
    fill_visit(page, leader, address="Số 21, ngõ Đình", head="Mai Văn Sơn", services=["ecommerce"])
    page.get_by_label(hoa.full_name, exact=True).check()  # Hoa went too
    _save(page)
    _saved_on_the_phone(page)
    fill_visit(page, leader, address="Số 22, ngõ Đình", head="Tạ Thị Yến", services=["other"])
    page.get_by_label(hoa.full_name, exact=True).uncheck()  # kept from the last visit
    _save(page)
    _saved_on_the_phone(page)
    queued = {e["address_label"]: e["submission_id"] for e in outbox_entries(page)}
    left, used = queued["Số 21, ngõ Đình"], queued["Số 22, ngõ Đình"]

    # Meanwhile: Hoa leaves the team, and the second visit's submission id is already
    # stored with other content.
    commune = Commune.objects.get(code=HAI_DONG)
    member_deactivate(by=commune_official(commune), member=hoa, left_on=timezone.localdate())
    visit_record(
        by=leader.user,
        team=leader.team,
        submission_id=uuid.UUID(used),
        hamlet=leader.hamlet,
        address_label="Số 40, ngõ Đình",
        head_name="Phan Văn Lộc",
        consent=Household.Consent.GIVEN,
        data=VisitData(visited_on=timezone.localdate(), members=[leader.member]),
    )

    proxy.mode = proxy.UP
    page.goto(_outbox())  # sends: both are refused
    expect(_in_state(page, ATTENTION)).to_have_count(2)
    states = {e["submission_id"]: e for e in outbox_entries(page)}
    assert states[left]["state"] == states[used]["state"] == "attention"
    # The form's own message, in Vietnamese, beside the entry.
    gone = vi("Someone you chose is no longer a member of the team: choose who went again.")
    assert states[left]["errors"]["members"] == [gone]
    refused_member = _entries(page).filter(has_text="Số 21, ngõ Đình")
    expect(refused_member).to_contain_text(gone)
    conflicting = _entries(page).filter(has_text="Số 22, ngõ Đình")
    already = vi(
        "This visit was already sent with different content. Nothing was saved or changed."
    )
    assert states[used]["reason"] == already
    expect(conflicting).to_contain_text(already)
    assert Visit.objects.count() == 1  # only the other content, stored before

    # One more visit without a signal: the outbox shows both kinds.
    proxy.mode = proxy.DOWN
    page.goto(_form())
    fill_visit(page, leader, address="Số 23, ngõ Đình", head="Hà Văn Quý", services=["other"])
    _save(page)
    _saved_on_the_phone(page)
    page.goto(_outbox())
    expect(_in_state(page, ATTENTION)).to_have_count(2)
    expect(_in_state(page, WAITING)).to_have_count(1)
    expect(_badge(page).locator(".count")).to_have_text("3")
    page.evaluate("() => document.getElementById('outbox-list').scrollIntoView()")
    screenshot(page, "offline-outbox")

    # Back online, the leader corrects the first: Hoa is no longer offered.
    _tried(page)
    proxy.mode = proxy.UP
    refused_member.get_by_role("link", name=vi("Open and correct")).click()
    expect(page).to_have_url(re.compile(rf"\?outbox={left}$"))
    members = page.locator("fieldset", has=page.locator("input[name=members]"))
    expect(members.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label(hoa.full_name, exact=True)).to_have_count(0)
    expect(page.get_by_label(leader.member.full_name, exact=True)).to_be_checked()
    expect(page.get_by_label(vi("Address"), exact=True)).to_have_value("Số 21, ngõ Đình")
    members.scroll_into_view_if_needed()
    screenshot(page, "offline-attention")
    _save(page)
    expect(page).to_have_url(re.compile(r"/visits/\d+/$"))
    expect(page.get_by_text(vi("Visit saved."))).to_be_visible()
    corrected = Visit.objects.get(submission_id=left)
    assert list(corrected.members.all()) == [leader.member]

    # The second: its content is sent as the new visit it is.
    page.goto(_outbox())
    expect(_in_state(page, ATTENTION)).to_have_count(1)
    _entries(page).filter(has_text="Số 22, ngõ Đình").get_by_role(
        "link", name=vi("Open and correct")
    ).click()
    expect(page.get_by_label(vi("Address"), exact=True)).to_have_value("Số 22, ngõ Đình")
    _save(page)
    expect(page).to_have_url(re.compile(r"/visits/\d+/$"))

    page.goto(_outbox())
    expect(_in_state(page, SENT)).to_have_count(3)
    expect(_in_state(page, ATTENTION)).to_have_count(0)
    expect(_badge(page)).to_be_hidden()
    addresses = list(Visit.objects.values_list("household__address_label", flat=True))
    assert sorted(addresses) == sorted(
        ["Số 21, ngõ Đình", "Số 22, ngõ Đình", "Số 23, ngõ Đình", "Số 40, ngõ Đình"]
    )
    assert Visit.objects.get(submission_id=used).household.address_label == "Số 40, ngõ Đình"


# --- Logging out, and a session that ends ---------------------------------------------------


def test_logging_out_with_visits_waiting_warns_and_empties_the_phone(open_phone, proxy, leader):
    page = open_phone()
    log_in(page, leader.user.username, leader.password)
    _ready_for_offline(page)
    proxy.mode = proxy.DOWN
    page.goto(_form())
    fill_visit(page, leader, address="Số 30, ngõ Mới", head="Kiều Văn Đức", services=["other"])
    _save(page)
    _saved_on_the_phone(page)

    warning = page.locator("#logout-warning")
    expect(warning).to_be_hidden()
    menu(page).get_by_role("button", name=vi("Log out")).click()
    expect(warning).to_be_visible()
    expect(warning).to_have_attribute("role", "alertdialog")
    unsent = "{count} visits have not been sent yet. Logging out deletes them from this phone."
    expect(warning).to_contain_text(vi(unsent).replace("{count}", "1"))
    screenshot(page, "offline-logout-warning")

    # Send them first: to the outbox (the phone's copy, still no signal); nothing is lost.
    warning.get_by_role("link", name=vi("Send them first")).or_(
        warning.get_by_role("button", name=vi("Send them first"))
    ).click()
    expect(page).to_have_url(re.compile(re.escape(_outbox()) + "$"))
    expect(_in_state(page, WAITING)).to_have_count(1)

    _tried(page)
    proxy.mode = proxy.UP
    mark = proxy.mark()
    menu(page).get_by_role("button", name=vi("Log out")).click()
    expect(page.locator("#logout-warning")).to_be_visible()
    page.locator("#logout-warning").get_by_role("button", name=vi("Log out anyway")).click()

    expect(page).to_have_url(f"{proxy.url}/")
    expect(menu(page).get_by_role("link", name=vi("Log in"))).to_be_visible()
    assert not Session.objects.exists()  # logged out on the server too
    assert outbox_entries(page) == []
    assert cached_pages(page) == []
    assert not Visit.objects.exists()  # deleted, never sent
    assert [e.path for e in proxy.since(mark) if e.method == "POST"] == [reverse("logout")]


def test_an_expired_session_keeps_the_queue_until_the_same_leader_logs_in_again(
    open_phone, proxy, leader
):
    page = open_phone()
    log_in(page, leader.user.username, leader.password)
    _ready_for_offline(page)
    proxy.mode = proxy.DOWN
    page.goto(_form())
    fill_visit(page, leader, address="Số 6, ngõ Trại", head="Lưu Thị Hằng", services=["other"])
    _save(page)
    _saved_on_the_phone(page)
    page.goto(_outbox())
    expect(_in_state(page, WAITING)).to_have_count(1)
    _tried(page)

    Session.objects.all().delete()  # the session ends while the phone is away
    proxy.mode = proxy.UP
    page.get_by_role("button", name=vi("Send now")).click()

    expect(page.get_by_text(vi(LOGIN_AGAIN))).to_be_visible()
    expect(_in_state(page, WAITING)).to_have_count(1)
    (entry,) = outbox_entries(page)
    assert entry["state"] == "waiting"
    assert not Visit.objects.exists()

    page.locator("main").get_by_role("link", name=vi("Log in"), exact=True).click()
    page.locator("input[name=username]").fill(leader.user.username)
    page.locator("input[name=password]").fill(leader.password)
    page.locator("main button[type=submit]").click()

    expect(page).to_have_url(re.compile(re.escape(_outbox()) + "$"))
    expect(_in_state(page, SENT)).to_have_count(1)
    visit = Visit.objects.get()
    assert str(visit.submission_id) == entry["submission_id"]
    assert visit.created_by == leader.user


# --- Budgets on a slow phone connection -----------------------------------------------------


def test_the_form_loads_repeats_and_sends_within_its_byte_budgets(open_phone, proxy, leader):
    signed_in = open_phone()
    log_in(signed_in, leader.user.username, leader.password)
    # A phone that has never opened the form: no cache, no service worker yet.
    page = open_phone(storage_state=signed_in.context.storage_state())
    signed_in.context.close()  # its own worker's downloads would count in the proxy's
    page.context.add_init_script(READY_CLOCK)
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.enable")
    network = NetworkLog(devtools)
    devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
    devtools.send("Network.emulateNetworkConditions", SLOW_PHONE)
    figures = {"conditions": SLOW_PHONE, "kb": KB}

    mark = proxy.mark()
    page.goto(_form())
    wait_offline_ready(page)
    page.wait_for_load_state("networkidle")
    first = {
        "bytes": network.bytes(),
        "requests": sorted(
            f"{r['url'].removeprefix(proxy.url)} {r['bytes']}"
            for r in network.finished()
            if r["url"].startswith(proxy.url)  # not the date picker's data: icon
        ),
        **page.evaluate(NAVIGATION_TIMES),
        "wire_received_by_the_page_and_worker": sum(e.received for e in proxy.since(mark)),
    }
    page.wait_for_function(SW_CONTROLS)  # installed: its precache is in
    first["wire_received_with_the_precache"] = sum(e.received for e in proxy.since(mark))
    figures["first_load"] = first

    devtools.send("Network.setCacheDisabled", {"cacheDisabled": False})
    page.wait_for_load_state("networkidle")
    mark = proxy.mark()
    page.goto(_form())
    wait_offline_ready(page)
    page.wait_for_load_state("networkidle")
    exchanges = proxy.since(mark)
    repeat = {
        "bytes_received": sum(e.received for e in exchanges),
        "bytes_sent": sum(e.sent for e in exchanges),
        # What the service worker answered never reaches the page's DevTools log as
        # bytes: the proxy counts what travelled, the worker's own requests included.
        "requests_on_the_wire": [f"{e.method} {e.path} {e.received}" for e in exchanges],
        **page.evaluate(NAVIGATION_TIMES),
    }
    figures["repeat_visit"] = repeat

    proxy.mode = proxy.DOWN
    fill_visit(page, leader, address="Số 2, ngõ Đê", head="Trịnh Văn Khải", services=["other"])
    _save(page)
    _saved_on_the_phone(page)
    page.goto(_outbox())
    _tried(page)
    proxy.mode = proxy.UP
    mark = proxy.mark()
    started = time.monotonic()
    page.get_by_role("button", name=vi("Send now")).click()
    expect(_in_state(page, SENT)).to_have_count(1)
    sending = time.monotonic() - started
    exchanges = proxy.since(mark)
    (post,) = [e for e in exchanges if e.method == "POST" and e.path == _form()]
    figures["queued_post"] = {
        "bytes_sent": post.sent,
        "bytes_received": post.received,
        "bytes": post.total,
        "flush_bytes_all_requests": sum(e.total for e in exchanges),
        "flush_seconds": round(sending, 3),
    }
    assert Visit.objects.count() == 1

    BUDGETS.parent.mkdir(parents=True, exist_ok=True)
    BUDGETS.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    # The page itself was counted, and came over the network on the repeat too.
    assert any(line.startswith(f"{_form()} ") for line in first["requests"]), figures
    assert any(line.startswith(f"GET {_form()} ") for line in repeat["requests_on_the_wire"])
    assert first["bytes"] <= 150 * KB, figures
    assert repeat["bytes_received"] <= 10 * KB, figures
    assert post.total <= 5 * KB, figures
