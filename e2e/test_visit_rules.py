"""The visit form on a phone refuses what contradicts the outcome, beside the field, and
tells the leader before saving that a declining household's address is not kept."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from outreach.catalogue import SERVICE_LABELS
from outreach.models import Household, Visit

from .conftest import PHONE, fill_visit, log_in, screenshot, vi

pytestmark = pytest.mark.e2e


def test_nobody_at_home_with_residents_and_a_service_is_refused_beside_each_field(
    open_page, leader
):
    page = open_page(viewport=PHONE)
    log_in(page, leader.user.username, leader.password)
    page.goto(reverse("outreach:visit_new"))
    fill_visit(page, leader, address="Số 9, ngõ Giếng", head="Bùi Văn Hải", services=["ecommerce"])
    nobody_home = vi(Visit.Outcome.NOT_HOME.label)
    page.get_by_label(nobody_home, exact=True).check()
    page.get_by_label(vi("Notes"), exact=True).fill("Gửi tờ rơi qua hàng xóm")

    page.get_by_role("button", name=vi("Save visit")).click()

    residents = page.locator(".field", has=page.locator("input[name=residents_helped]"))
    expect(residents.get_by_role("alert")).to_contain_text(nobody_home)
    services = page.locator("fieldset", has=page.locator("input[name=services]"))
    expect(services.get_by_role("alert")).to_contain_text(nobody_home)
    assert not Visit.objects.exists() and not Household.objects.exists()
    # Everything typed is still there, to be corrected rather than typed again.
    expect(page.get_by_label(vi("Residents helped"), exact=True)).to_have_value("3")
    expect(page.get_by_label(vi(SERVICE_LABELS["ecommerce"]), exact=True)).to_be_checked()
    expect(page.get_by_label(nobody_home, exact=True)).to_be_checked()
    expect(page.get_by_label(vi("Address"), exact=True)).to_have_value("Số 9, ngõ Giếng")
    expect(page.get_by_label(vi("Notes"), exact=True)).to_have_value("Gửi tờ rơi qua hàng xóm")
    residents.scroll_into_view_if_needed()
    screenshot(page, "visit-rules-contradiction-phone")

    # Helped hands-on is what the leader meant: it saves as it stands.
    page.get_by_label(vi(Visit.Outcome.HELPED.label), exact=True).check()
    page.get_by_role("button", name=vi("Save visit")).click()
    expect(page).to_have_url(re.compile(r"/visits/\d+/$"))
    assert Visit.objects.get().outcome == Visit.Outcome.HELPED


def _declines_with_an_address(page, leader) -> None:
    page.get_by_label(vi("Hamlet"), exact=True).select_option(label=leader.hamlet.name)
    page.get_by_label(vi("Address"), exact=True).fill("Số 4, ngõ Đình")
    page.get_by_label(vi(Household.Consent.DECLINED.label), exact=True).check()
    page.get_by_label(leader.member.full_name, exact=True).check()
    page.get_by_label(vi("Residents helped"), exact=True).fill("1")
    page.get_by_label(vi(SERVICE_LABELS["cyber_safety"]), exact=True).check()


def test_the_leader_is_told_before_saving_that_a_declining_households_address_is_not_kept(
    open_page, leader
):
    page = open_page(viewport=PHONE)
    log_in(page, leader.user.username, leader.password)
    page.goto(reverse("outreach:visit_new"))
    notice = page.locator("#address-dropped")
    expect(notice).to_be_hidden()

    _declines_with_an_address(page, leader)

    # Said as soon as the household declines, before anything is sent.
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(
        vi(
            "This household declined to be recorded: the address and name typed above will "
            "not be kept. The visit is saved with its hamlet only."
        )
    )
    assert not Visit.objects.exists()
    notice.scroll_into_view_if_needed()
    screenshot(page, "visit-rules-declined-address-phone")
    # Cleared, nothing is lost: the warning goes.
    page.get_by_label(vi("Address"), exact=True).fill("")
    expect(notice).to_be_hidden()
    page.get_by_label(vi("Address"), exact=True).fill("Số 4, ngõ Đình")
    expect(notice).to_be_visible()

    page.get_by_label(vi("Save the visit without the address and name"), exact=True).check()
    page.get_by_role("button", name=vi("Save visit")).click()

    expect(page).to_have_url(re.compile(r"/visits/\d+/$"))
    household = Visit.objects.get().household
    assert household.address_label == f"#{household.pk}"
    assert household.consent == Household.Consent.DECLINED


def test_without_javascript_the_first_save_warns_and_stores_nothing(open_page, leader):
    page = open_page(viewport=PHONE, javascript=False)
    log_in(page, leader.user.username, leader.password)
    page.goto(reverse("outreach:visit_new"))
    _declines_with_an_address(page, leader)

    page.get_by_role("button", name=vi("Save visit")).click()

    address = page.locator(".field", has=page.locator("input[name=address_label]"))
    expect(address.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label(vi("Address"), exact=True)).to_have_value("Số 4, ngõ Đình")
    assert not Visit.objects.exists() and not Household.objects.exists()

    page.get_by_label(vi("Save the visit without the address and name"), exact=True).check()
    page.get_by_role("button", name=vi("Save visit")).click()

    expect(page).to_have_url(re.compile(r"/visits/\d+/$"))
    assert not Household.objects.filter(address_label__icontains="Đình").exists()
