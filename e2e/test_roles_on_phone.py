"""Every role on a 390 × 844 phone: each lands where its work is, reaches every item of
the header's menu through the menu button (with JavaScript turned off too), and no page
it uses is wider than the screen.

Pages are in Vietnamese (the browser asks for it first); texts are found through their
translation, so a missing one fails the test.
"""

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.tests.factories import commune_official, district_staff, province_staff
from communes.models import Commune, District, Province
from dashboard.rollup import rollup_full
from outreach.services import visit_record
from outreach.services.visits import VisitData

from .conftest import (
    HAI_DONG,
    PASSWORD,
    PHONE,
    Leader,
    log_in,
    make_leader,
    menu,
    screenshot,
    serious_accessibility_violations,
    vi,
)

pytestmark = pytest.mark.e2e

HAI_HAU = 366  # the district of Xã Hải Đông
TRAN_TE_XUONG = 13636  # in Thành phố Nam Định
LEADER, OFFICIAL, DISTRICT, PROVINCE = (
    "team leader",
    "commune official",
    "district staff",
    "provincial staff",
)
ROLES = [LEADER, OFFICIAL, DISTRICT, PROVINCE]

# What the menu offers each role, besides the dashboard, logging out and the language.
MENU = {
    LEADER: ["Log a visit", "Visits", "Teams", "Members", "Households", "Trainings"],
    OFFICIAL: ["Visits", "Teams", "Members", "Hamlets", "Households", "Trainings"],
    DISTRICT: ["Visits", "Teams", "Members", "Households", "Trainings"],
    PROVINCE: ["Visits", "Teams", "Members", "Households", "Trainings"],
}

# The page is as wide as the screen: nothing sticks out to scroll sideways to.
PAGE_WIDTH = "() => document.documentElement.scrollWidth"

# Every date written out (07/12/2026) that the page breaks over two lines.
BROKEN_DATES = r"""() => {
  const found = {checked: 0, broken: []};
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.textContent.matchAll(/\d{2}\/\d{2}\/\d{4}/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set(
        [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))
      );
      if (lines.size) found.checked += 1;
      if (lines.size > 1) found.broken.push(match[0]);
    }
  }
  return found;
}"""


@dataclass
class Signed:
    """A login of a role, where it lands, and the dashboards it may open."""

    username: str
    password: str
    landing: str
    dashboards: list[str]


def _visit(leader: Leader, address: str, day: dt.date) -> None:
    visit_record(
        by=leader.user,
        team=leader.team,
        submission_id=uuid.uuid4(),
        hamlet=leader.hamlet,
        address_label=address,
        data=VisitData(visited_on=day, members=[leader.member], residents_helped=2),
    )


@pytest.fixture
def world(leader) -> dict[str, Signed]:
    """A login of each role around our leader's team, which visited today, earlier this
    week and last month; a team of another district visited today. Rolled up."""
    today = timezone.localdate()
    _visit(leader, "Số 12, ngõ 3", today)
    _visit(leader, "Số 14, ngõ 3", today - dt.timedelta(days=today.weekday()))
    _visit(leader, "Số 2, ngõ 1", today - dt.timedelta(days=35))
    their = make_leader(
        Commune.objects.get(code=TRAN_TE_XUONG), phone="0987654321", name="Lê Thị Lan", hamlet="3"
    )
    _visit(their, "Số 8, ngõ 8", today)
    rollup_full()
    team = reverse("dashboard:team", args=[leader.team.pk])
    commune = reverse("dashboard:commune", args=[HAI_DONG])
    district = reverse("dashboard:district", args=[HAI_HAU])
    overview = reverse("dashboard:overview")
    official = commune_official(Commune.objects.get(code=HAI_DONG))
    staff = district_staff(District.objects.get(code=HAI_HAU))
    provincial = province_staff(Province.objects.get())
    return {
        LEADER: Signed(leader.user.username, leader.password, reverse("home"), [team]),
        OFFICIAL: Signed(official.username, PASSWORD, commune, [commune, team]),
        DISTRICT: Signed(staff.username, PASSWORD, district, [overview, district, commune, team]),
        PROVINCE: Signed(
            provincial.username,
            PASSWORD,
            overview,
            [overview, reverse("dashboard:communes"), district, commune, team],
        ),
    }


def _signed_in(open_page, signed: Signed, *, javascript: bool = True, csp: bool = True) -> Page:
    page = open_page(viewport=PHONE, javascript=javascript, csp=csp)
    log_in(page, signed.username, signed.password)
    return page


# --- Where each role lands -------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lands_on_its_own_page_after_logging_in(open_page, world, leader, role):
    signed = world[role]
    page = _signed_in(open_page, signed)

    assert urlsplit(page.url).path == signed.landing
    expected = {
        LEADER: leader.team.name,
        OFFICIAL: Commune.objects.get(code=HAI_DONG).name,
        DISTRICT: District.objects.get(code=HAI_HAU).name,
        PROVINCE: vi("Province dashboard"),
    }[role]
    expect(page.get_by_role("heading", level=1)).to_contain_text(expected)
    screenshot(page, f"landing-{role.replace(' ', '-')}-phone")


def test_a_leader_lands_with_the_visit_button_first_and_above_the_fold(open_page, world, leader):
    page = _signed_in(open_page, world[LEADER])

    first = page.locator("main").locator("a, button, input, select, textarea").first
    expect(first).to_have_text(vi("Log a visit"))
    box = first.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

    # Then today's visits and this week's, of the team only; then its figures.
    today = page.locator("section", has=page.locator("#today-heading"))
    expect(today.get_by_role("link", name="Số 12, ngõ 3")).to_be_visible()
    week = page.locator("section", has=page.locator("#week-heading"))
    expect(week).to_be_visible()
    expect(page.get_by_text("Số 8, ngõ 8")).to_have_count(0)  # another team's
    expect(page.get_by_text("Số 2, ngõ 1")).to_have_count(0)  # last month's
    figures = page.locator("section", has=page.locator("#figures-heading"))
    expect(figures.locator("li.tile[data-figure=visits_total] .tile-value")).to_have_text("3")

    first.click()
    expect(page).to_have_url(re.compile(re.escape(reverse("outreach:visit_new")) + "$"))


# --- The menu ------------------------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["with JavaScript", "without"])
@pytest.mark.parametrize("role", ROLES)
def test_every_menu_item_is_reachable_through_the_menu_button(open_page, world, role, javascript):
    page = _signed_in(open_page, world[role], javascript=javascript)
    nav = page.locator("header nav.site-nav")
    button = page.locator("header summary.menu-button")

    # Folded away behind the button, which the header shows.
    expect(nav).to_be_hidden()
    expect(button).to_have_text(vi("Menu"))
    box = button.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44

    button.click()

    items = nav.locator("a, button")
    names = [text.strip() for text in items.all_inner_texts()]
    wanted = [vi(name) for name in ("Dashboard", *MENU[role], "Log out")] + ["English"]
    assert [name for name in wanted if name not in names] == []
    for index in range(items.count()):
        item = items.nth(index)
        item.scroll_into_view_if_needed()
        expect(item).to_be_visible()
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], names[index]
        assert box["height"] >= 44, names[index]  # a finger's touch
    assert page.evaluate(PAGE_WIDTH) <= PHONE["width"]
    if role == LEADER and javascript:
        screenshot(page, "menu-open-phone")

    # The items work: a page, then the language switch (a form).
    nav.get_by_role("link", name=vi("Visits"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(vi("Door-to-door visits"))
    menu(page).get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Door-to-door visits")


def test_the_menu_button_opens_and_closes_from_the_keyboard(open_page, world):
    page = _signed_in(open_page, world[OFFICIAL])
    nav = page.locator("header nav.site-nav")
    button = page.locator("header summary.menu-button")

    button.focus()
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link").first).to_be_focused()

    button.focus()
    page.keyboard.press("Space")
    expect(nav).to_be_hidden()


def test_wider_screens_show_the_menu_in_a_row_without_the_button(open_page, world):
    page = open_page(viewport={"width": 1024, "height": 768})
    log_in(page, world[OFFICIAL].username)

    expect(page.locator("header summary.menu-button")).to_be_hidden()
    items = page.locator("header nav.site-nav").locator("a, button")
    tops = {round(items.nth(i).bounding_box()["y"]) for i in range(items.count())}
    assert len(tops) <= 2  # one row; two on a narrow tablet


# --- Widths ----------------------------------------------------------------------------------


def _menu_pages(page: Page) -> list[str]:
    """The pages the role's menu links to, but the admin's."""
    links = menu(page).locator("a")
    paths = [urlsplit(links.nth(i).get_attribute("href")).path for i in range(links.count())]
    return [path for path in dict.fromkeys(paths) if not path.startswith(reverse("admin:index"))]


@pytest.mark.parametrize("role", ROLES)
def test_no_page_a_role_uses_is_wider_than_a_phone_or_breaks_a_date(open_page, world, role):
    signed = world[role]
    page = _signed_in(open_page, signed)
    pages = list(dict.fromkeys([signed.landing, *signed.dashboards, *_menu_pages(page)]))

    too_wide, broken, dates = {}, {}, 0
    for path in pages:
        response = page.goto(path)
        assert response.status == 200, path
        width = page.evaluate(PAGE_WIDTH)
        if width > PHONE["width"]:
            too_wide[path] = width
        found = page.evaluate(BROKEN_DATES)
        dates += found["checked"]
        if found["broken"]:
            broken[path] = found["broken"]

    assert too_wide == {}
    assert broken == {}
    assert dates > 0  # the team's page shows its last visit's day in a tile, at least
    assert reverse("outreach:visit_list") in pages
    assert reverse("outreach:household_list") in pages
    assert reverse("outreach:team_list") in pages
    assert reverse("trainings:session_list") in pages
    assert (reverse("outreach:visit_new") in pages) == (role == LEADER)


# --- Accessibility ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [LEADER, OFFICIAL])
def test_the_landing_page_with_the_menu_open_has_no_serious_accessibility_violation(
    open_page, world, role
):
    page = _signed_in(open_page, world[role], csp=False)
    found = {"closed": serious_accessibility_violations(page)}
    page.locator("header summary.menu-button").click()
    found["open"] = serious_accessibility_violations(page)

    assert found == {"closed": [], "open": []}
