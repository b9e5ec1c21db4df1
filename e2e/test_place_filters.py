"""Provincial staff narrow the visit list by place: a district, then one of its communes,
then one of the commune's hamlets, each place's choice sending the form
(static/js/place-filters.js) so that the next list of choices follows it; without
JavaScript the Filter button does the same."""

import re
import uuid

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import province_staff
from communes.models import Commune, Province
from outreach.services import visit_record
from outreach.services.visits import VisitData

from .conftest import DESKTOP, HAI_DONG, log_in, make_leader, screenshot

pytestmark = pytest.mark.e2e

TRAN_TE_XUONG = 13636  # in Thành phố Nam Định; Xã Hải Đông is in Huyện Hải Hậu


@pytest.fixture
def places():
    """A visit in each of two hamlets of Xã Hải Đông and one in Phường Trần Tế Xương."""
    ours = Commune.objects.get(code=HAI_DONG)
    theirs = Commune.objects.get(code=TRAN_TE_XUONG)
    east = make_leader(ours, phone="0912000001", name="Trần Văn Minh", hamlet="Đông")
    west = make_leader(ours, phone="0912000002", name="Lê Thị Lan", hamlet="Tây")
    far = make_leader(theirs, phone="0912000003", name="Đỗ Văn Xa", hamlet="Tổ dân phố 1")
    for leader, address in ((east, "Số 1 thôn Đông"), (west, "Số 2 thôn Tây"), (far, "Số 3")):
        visit_record(
            by=leader.user,
            team=leader.team,
            submission_id=uuid.uuid4(),
            hamlet=leader.hamlet,
            address_label=address,
            data=VisitData(visited_on=leader.team.formed_on, members=[leader.member]),
        )
    return {"ours": ours, "theirs": theirs, "east": east, "west": west}


def _addresses(page) -> list[str]:
    page.wait_for_load_state()  # the list below the form may still be arriving
    cells = page.locator("table.data tbody tr td:nth-child(4)")
    return sorted(cells.nth(i).inner_text() for i in range(cells.count()))


def _options(page, name: str):
    """The places a select offers (its "any" choice left out), as a locator so that
    `expect` waits for the page the last click asked for instead of counting the one
    still showing."""
    return page.locator(f"select[name={name}] option[value]:not([value=''])")


def test_choosing_a_place_narrows_the_next_choices_and_the_list_at_once(open_page, places):
    ours, theirs = places["ours"], places["theirs"]
    page = open_page(viewport=DESKTOP)
    log_in(page, province_staff(Province.objects.get()).username)
    page.goto(reverse("outreach:visit_list"))
    page.locator("details.filter-box summary").click()
    expect(_options(page, "commune")).to_have_count(Commune.objects.count())
    expect(page.locator("select[name=hamlet]")).to_have_count(0)

    page.locator("select[name=district]").select_option(value=str(ours.district_id))
    expect(page).to_have_url(re.compile(rf"[?&]district={ours.district_id}(&|$)"))
    expect(_options(page, "commune")).to_have_count(
        Commune.objects.filter(district=ours.district).count()
    )

    page.locator("select[name=commune]").select_option(value=str(ours.pk))
    expect(page).to_have_url(re.compile(rf"[?&]commune={ours.pk}(&|$)"))
    expect(_options(page, "hamlet")).to_have_count(2)
    assert _addresses(page) == ["Số 1 thôn Đông", "Số 2 thôn Tây"]

    # A hamlet narrows no other choice: it waits for the Filter button, as the dates do.
    page.locator("select[name=hamlet]").select_option(value=str(places["west"].hamlet.pk))
    page.locator("form.filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"[?&]hamlet={places['west'].hamlet.pk}(&|$)"))
    assert _addresses(page) == ["Số 2 thôn Tây"]
    screenshot(page, "visits-by-place-desktop")

    # Another district: the commune and hamlet chosen in the first are let go.
    page.locator("select[name=district]").select_option(value=str(theirs.district_id))
    expect(page).to_have_url(re.compile(rf"[?&]district={theirs.district_id}(&|$)"))
    expect(page.locator("select[name=hamlet]")).to_have_count(0)
    assert page.locator(".field-error").count() == 0
    assert _addresses(page) == ["Số 3"]


def test_without_javascript_the_filter_button_narrows_the_communes(open_page, places):
    ours = places["ours"]
    page = open_page(viewport=DESKTOP, javascript=False)
    log_in(page, province_staff(Province.objects.get()).username)
    page.goto(reverse("outreach:visit_list"))
    page.locator("details.filter-box summary").click()

    page.locator("select[name=district]").select_option(value=str(ours.district_id))
    page.locator("form.filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"[?&]district={ours.district_id}(&|$)"))
    expect(_options(page, "commune")).to_have_count(
        Commune.objects.filter(district=ours.district).count()
    )

    page.locator("select[name=commune]").select_option(value=str(ours.pk))
    page.locator("form.filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"[?&]commune={ours.pk}(&|$)"))
    expect(_options(page, "hamlet")).to_have_count(2)
    assert _addresses(page) == ["Số 1 thôn Đông", "Số 2 thôn Tây"]
