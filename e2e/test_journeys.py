"""The portal in a real browser: the journeys its users make, on the screens they use.

Pages are in Vietnamese (the browser asks for it first); texts are found through their
translation, so a missing one fails the journey. Each journey ends with a screenshot of
its last page in e2e.conftest.SCREENSHOTS.
"""

import csv
import datetime as dt
import io
import re
import uuid

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, District, Province
from dashboard.models import CommuneDay
from dashboard.rollup import rollup_full
from outreach.catalogue import SERVICE_LABELS
from outreach.models import Household, Member, Service, Visit
from outreach.services import visit_record
from outreach.services.visits import VisitData

from .conftest import (
    DESKTOP,
    HAI_DONG,
    PHONE,
    Leader,
    fill_visit,
    log_in,
    make_leader,
    menu,
    screenshot,
    serious_accessibility_violations,
    vi,
)

pytestmark = pytest.mark.e2e

TRAN_TE_XUONG = 13636  # in Thành phố Nam Định (HAI_DONG is in Huyện Hải Hậu)
HAI_HAU = 366


def _visits(leader: Leader, count: int, *, services: list[str], helped: int) -> None:
    """`count` households visited this year, spread over the months up to today."""
    today = timezone.localdate()
    first_of_year = today.replace(month=1, day=1)
    chosen = list(Service.objects.filter(code__in=services))
    for n in range(count):
        visit_record(
            by=leader.user,
            team=leader.team,
            submission_id=uuid.uuid4(),
            hamlet=leader.hamlet,
            address_label=f"Số {n + 1}, ngõ {n % 4 + 1}",
            data=VisitData(
                visited_on=max(first_of_year, today - dt.timedelta(days=19 * n)),
                members=[leader.member],
                services=chosen[: n % len(chosen) + 1],
                residents_helped=helped + n % 3,
            ),
        )


@pytest.fixture
def worked(leader) -> dict[str, Commune]:
    """A year's visits in two communes of two districts, rolled up into the summary tables."""
    ours = Commune.objects.get(code=HAI_DONG)
    theirs = Commune.objects.get(code=TRAN_TE_XUONG)
    Commune.objects.filter(pk=ours.pk).update(households=1_200)
    Commune.objects.filter(pk=theirs.pk).update(households=2_500)
    their_leader = make_leader(theirs, phone="0987654321", name="Lê Thị Lan", hamlet="Tổ dân phố 3")
    # One commit, so that the roll-up each visit queues runs once, not 23 times.
    with transaction.atomic():
        _visits(leader, 14, services=["portal_account", "mobile_banking", "ecommerce"], helped=2)
        _visits(their_leader, 9, services=["cyber_safety", "online_payment"], helped=1)
    rollup_full()
    return {"ours": ours, "theirs": theirs}


def _digits(text: str) -> int:
    """A number as a page shows it (1.234 in Vietnamese) or a file holds it."""
    return int(re.sub(r"\D", "", text))


# --- 1 and 2: a team leader on a phone ---------------------------------------------------

DOUBLE_TAP_SAVE = """() => {
  const save = document.querySelector("form.visit-form button[type=submit]");
  setTimeout(() => save.click());
  setTimeout(() => save.click(), 400);
}"""


def _network_latency(cdp, *, milliseconds: int) -> None:
    """Make every answer take this long to come back, as on a phone far from the mast."""
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": milliseconds,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )


def _visit_page(frame) -> bool:
    return frame.parent_frame is None and re.search(r"/visits/\d+/$", frame.url) is not None


def test_leader_logs_a_visit_on_a_phone_and_a_double_tap_stores_one_visit(open_page, leader):
    page = open_page(viewport=PHONE)
    log_in(page, leader.user.username, leader.password)
    menu(page).get_by_role("link", name=vi("Log a visit")).click()

    fill_visit(
        page,
        leader,
        address="Số 12, ngõ 3",
        head="Nguyễn Văn An",
        services=["portal_account", "mobile_banking"],
    )
    page.get_by_role("button", name=vi("Save visit")).click()

    expect(page).to_have_url(re.compile(r"/visits/\d+/$"))
    expect(page.get_by_text(vi("Visit saved."))).to_be_visible()
    visit = Visit.objects.get()
    assert visit.team == leader.team and visit.created_by == leader.user
    assert set(visit.services.values_list("code", flat=True)) == {
        "portal_account",
        "mobile_banking",
    }
    assert Household.objects.get().head_name == "Nguyễn Văn An"

    menu(page).get_by_role("link", name=vi("Visits"), exact=True).click()
    expect(page.locator("table.data tbody tr", has_text="Số 12, ngõ 3")).to_have_count(1)

    # A second visit on a slow connection: the answer takes a second to come back, and
    # the leader taps Save again meanwhile. Two posts reach the server; one visit is kept.
    menu(page).get_by_role("link", name=vi("Log a visit")).click()
    fill_visit(page, leader, address="Số 14, ngõ 3", head="Đỗ Thị Thu", services=["ecommerce"])
    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request))
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    _network_latency(network, milliseconds=1_000)
    with page.expect_event("framenavigated", predicate=_visit_page, timeout=15_000):
        # The page taps twice itself: Playwright's click would wait for the first answer.
        page.evaluate(DOUBLE_TAP_SAVE)
    _network_latency(network, milliseconds=0)
    network.detach()
    page.wait_for_load_state()

    assert len(posts) == 2
    assert Visit.objects.filter(household__address_label="Số 14, ngõ 3").count() == 1
    assert Visit.objects.count() == 2
    expect(page.get_by_text(vi("Visit saved."))).to_be_visible()
    menu(page).get_by_role("link", name=vi("Visits"), exact=True).click()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Số 14, ngõ 3")).to_have_count(1)
    screenshot(page, "journey-1-team-visits-phone")


def test_a_visit_in_the_future_shows_the_error_beside_the_date_and_keeps_the_rest(
    open_page, leader
):
    page = open_page(viewport=PHONE)
    log_in(page, leader.user.username, leader.password)
    page.goto(reverse("outreach:visit_new"))
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    date_field = page.get_by_label(vi("Day of the visit"), exact=True)
    date_field.fill(tomorrow.isoformat())
    fill_visit(
        page,
        leader,
        address="Số 7, ngõ 1",
        head="Vũ Thị Mai",
        services=["telemedicine", "cyber_safety"],
    )
    page.get_by_label(vi("Notes"), exact=True).fill("Hẹn quay lại cài ứng dụng")

    page.get_by_role("button", name=vi("Save visit")).click()

    message = vi("A visit cannot be in the future.")
    assert message != "A visit cannot be in the future."
    date_box = page.locator(".field", has=page.locator("input[name=visited_on]"))
    expect(date_box.get_by_role("alert")).to_have_text(message)
    expect(page.get_by_role("alert").filter(has_text=message)).to_have_count(1)  # only there
    assert not Visit.objects.exists()
    expect(date_field).to_have_value(tomorrow.isoformat())
    expect(page.get_by_label(vi("Address"), exact=True)).to_have_value("Số 7, ngõ 1")
    expect(page.get_by_label(vi("Head of household (if new)"), exact=True)).to_have_value(
        "Vũ Thị Mai"
    )
    expect(page.get_by_label(vi("Hamlet"), exact=True)).to_have_value(str(leader.hamlet.pk))
    expect(page.get_by_label(leader.member.full_name, exact=True)).to_be_checked()
    expect(page.get_by_label(vi("Residents helped"), exact=True)).to_have_value("3")
    for code in ("telemedicine", "cyber_safety"):
        expect(page.get_by_label(vi(SERVICE_LABELS[code]), exact=True)).to_be_checked()
    expect(page.get_by_label(vi(SERVICE_LABELS["ecommerce"]), exact=True)).not_to_be_checked()
    expect(page.get_by_label(vi("Notes"), exact=True)).to_have_value("Hẹn quay lại cài ứng dụng")
    date_field.scroll_into_view_if_needed()
    screenshot(page, "journey-2-visit-form-phone")


# --- 3: a commune official imports a member list -----------------------------------------

HEADER = [
    "Mã xã",
    "Tên tổ",
    "Ngày thành lập tổ",
    "Họ và tên",
    "Giới tính",
    "Năm sinh",
    "Số điện thoại",
    "Vai trò",
]


def _member_list(path, bad_phone: str) -> None:
    team = [HAI_DONG, "Tổ CNS thôn Bắc", "01/03/2023"]
    rows = [
        [*team, "Nguyễn Văn An", "Nam", 1995, "0912 345 678", "Tổ trưởng"],
        [*team, "Trần Thị Bình", "Nữ", 1998, "0913 000 111", "Thành viên"],
        [*team, "Lê Văn Cường", "Nam", 2001, bad_phone, "Thành viên"],
    ]
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(rows)


def _upload(page, path) -> None:
    page.goto(reverse("outreach:member_import_new"))
    page.locator("input[type=file]").set_input_files(path)
    page.get_by_role("button", name=vi("Upload and check")).click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))


def test_official_imports_a_member_list_fixes_the_bad_row_and_sees_the_members(open_page, tmp_path):
    official = commune_official(Commune.objects.get(code=HAI_DONG))
    members_file = tmp_path / "danh-sach-to-cns.csv"
    _member_list(members_file, bad_phone="0123")
    page = open_page(viewport=DESKTOP)
    log_in(page, official.username)

    _upload(page, members_file)

    # The check runs after the upload; the page refreshes itself until it is done.
    bad = page.locator("section", has=page.locator("#errors-title")).locator("tbody tr")
    expect(bad).to_have_count(1)
    expect(bad.locator("td").first).to_have_text("4")  # the header is row 1
    expect(bad).to_contain_text(vi("Enter a Vietnamese mobile number, such as 0912 345 678."))
    expect(page.get_by_role("button", name=vi("Import now"))).to_have_count(0)
    assert not Member.objects.exists()

    _member_list(members_file, bad_phone="0977 000 222")
    _upload(page, members_file)
    page.get_by_role("button", name=vi("Import now")).click()
    expect(page.locator("#done-title")).to_be_visible()

    assert Member.objects.filter(team__commune__code=HAI_DONG).count() == 3
    menu(page).get_by_role("link", name=vi("Members"), exact=True).click()
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"):
        expect(page.get_by_text(name, exact=True)).to_be_visible()
    screenshot(page, "journey-3-imported-members")


# --- 4: provincial staff on a desktop ----------------------------------------------------


def _summary(district: District | None = None) -> dict[str, int]:
    """The headline figures straight from the summary tables, this year to today."""
    today = timezone.localdate()
    days = CommuneDay.objects.filter(day__lte=today)
    if district is not None:
        days = days.filter(district=district)
    sums = days.aggregate(
        formed=Sum("teams_formed", default=0),
        dissolved=Sum("teams_dissolved", default=0),
        joined=Sum("members_joined", default=0),
        left=Sum("members_left", default=0),
        reached=Sum("households_first", default=0),
        helped=Sum("residents_helped", default=0, filter=Q(day__year=today.year)),
    )
    return {
        "teams": sums["formed"] - sums["dissolved"],
        "members": sums["joined"] - sums["left"],
        "households_reached": sums["reached"],
        "residents_helped": sums["helped"],
    }


def _tiles(page) -> dict[str, int]:
    return {
        figure: _digits(page.locator(f"li.tile[data-figure={figure}] .tile-value").inner_text())
        for figure in ("teams", "members", "households_reached", "residents_helped")
    }


CANVAS_DRAWN = """id => {
  const canvas = document.getElementById(id);
  if (!canvas || !canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let alpha = 3; alpha < pixels.length; alpha += 4) if (pixels[alpha]) return true;
  return false;
}"""


def test_provincial_staff_see_the_summary_figures_drawn_filtered_and_exported(open_page, worked):
    provincial = province_staff(Province.objects.get())
    page = open_page(viewport=DESKTOP)
    log_in(page, provincial.username)
    page.goto(reverse("dashboard:overview"))

    province = _summary()
    assert province["households_reached"] == 23
    assert _tiles(page) == province
    for chart in ("chart-trend", "chart-services"):
        page.wait_for_function(CANVAS_DRAWN, arg=chart)  # fails after the default timeout

    # The districts table's totals, on the page and in the CSV file, are the tiles'.
    total = page.locator("table.area-table tfoot tr").locator("td")
    shown = [total.nth(i).inner_text() for i in range(total.count())]
    assert [_digits(shown[i]) for i in (0, 1, 2)] == [
        province["teams"],
        province["members"],
        province["households_reached"],
    ]
    districts = page.locator("section", has=page.locator("#districts-heading"))
    with page.expect_download() as download:
        districts.get_by_role("link", name=vi("Export to CSV")).click()
    body = download.value.path().read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    exported = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(exported) == 1 + District.objects.count() + 1
    last = exported[-1]
    assert last[1] == vi("Total")
    # Code, name, teams, members, reached, households, coverage, visits, helped, sessions;
    # the page has no households column.
    file_figures = [last[2], last[3], last[4], last[7], last[8], last[9]]
    page_figures = [shown[0], shown[1], shown[2], shown[4], shown[5], shown[6]]
    assert [int(v) for v in file_figures] == [_digits(v) for v in page_figures]
    assert float(last[6]) == float(shown[3].rstrip("%").replace(",", "."))

    page.get_by_label(vi("District"), exact=True).select_option(value=str(HAI_HAU))
    page.locator("form.dashboard-filters").get_by_role("button", name=vi("Show")).click()
    expect(page).to_have_url(re.compile(rf"[?&]district={HAI_HAU}(&|$)"))

    hai_hau = District.objects.get(code=HAI_HAU)
    expect(page.get_by_role("heading", level=1)).to_contain_text(hai_hau.name)
    ours = _summary(hai_hau)
    assert ours != province
    assert _tiles(page) == ours
    chosen = page.locator("table.area-table tbody tr[aria-current=true] td")
    assert _digits(chosen.nth(2).inner_text()) == ours["households_reached"]
    for chart in ("chart-trend", "chart-services"):
        page.wait_for_function(CANVAS_DRAWN, arg=chart)
    screenshot(page, "journey-4-dashboard-desktop")


# --- 5, 6 and 7: scope, admin search, language -------------------------------------------


def test_district_staff_get_a_vietnamese_not_found_page_for_another_district_s_commune(
    open_page, worked
):
    staff = district_staff(District.objects.get(code=HAI_HAU))
    page = open_page(viewport=DESKTOP)
    log_in(page, staff.username)

    own = page.goto(reverse("dashboard:commune", args=[HAI_DONG]))
    assert own.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text(worked["ours"].name)
    screenshot(page, "commune-page-desktop")

    other = page.goto(reverse("dashboard:commune", args=[TRAN_TE_XUONG]))

    assert other.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    heading = vi("Page not found")
    assert heading != "Page not found"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert worked["theirs"].name not in page.content()
    screenshot(page, "journey-5-not-found")


def test_admin_finds_a_commune_typed_without_diacritics(open_page):
    admin = UserFactory(is_staff=True, is_superuser=True)
    page = open_page(viewport=DESKTOP)
    log_in(page, admin.username)
    page.goto(reverse("admin:communes_commune_changelist"))

    search = page.locator("#searchbar")
    search.fill("hai dong")
    search.press("Enter")

    expect(page).to_have_url(re.compile(rf"/{re.escape(settings.ADMIN_URL)}.*[?&]q=hai\+dong"))
    found = page.locator("#result_list tbody tr")
    expect(found).to_have_count(1)
    expect(found.get_by_text("Xã Hải Đông", exact=True)).to_be_visible()
    screenshot(page, "journey-6-admin-search")


def test_switching_to_english_and_back_keeps_the_user_on_the_same_page(
    open_page, leader, live_server
):
    page = open_page(viewport=PHONE)
    log_in(page, leader.user.username, leader.password)
    where = f"{reverse('outreach:visit_list')}?hamlet={leader.hamlet.pk}"
    page.goto(where)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(vi("Door-to-door visits"))

    menu(page).get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading).to_have_text("Door-to-door visits")
    assert page.url == f"{live_server.url}{where}"

    menu(page).get_by_role("button", name="Tiếng Việt").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(heading).to_have_text(vi("Door-to-door visits"))
    assert page.url == f"{live_server.url}{where}"
    screenshot(page, "journey-7-language-switched-back")


# --- Accessibility -----------------------------------------------------------------------


def test_home_login_visit_form_and_dashboard_have_no_serious_accessibility_violations(
    open_page, leader, worked
):
    found = {}
    phone = open_page(viewport=PHONE, csp=False)
    phone.goto(reverse("home"))
    found["home"] = serious_accessibility_violations(phone)
    phone.goto(reverse("login"))
    found["login"] = serious_accessibility_violations(phone)
    log_in(phone, leader.user.username, leader.password)
    phone.goto(reverse("outreach:visit_new"))
    found["visit form"] = serious_accessibility_violations(phone)

    desktop = open_page(viewport=DESKTOP, csp=False)
    log_in(desktop, province_staff(Province.objects.get()).username)
    desktop.goto(reverse("dashboard:overview"))
    desktop.wait_for_function(CANVAS_DRAWN, arg="chart-trend")
    found["dashboard"] = serious_accessibility_violations(desktop)

    assert found == {"home": [], "login": [], "visit form": [], "dashboard": []}
