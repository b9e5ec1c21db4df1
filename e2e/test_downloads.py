"""An export on a slow connection: the link says the file is being prepared, then saved."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import commune_official
from communes.models import Commune

from .conftest import HAI_DONG, PHONE, log_in, screenshot, vi

pytestmark = pytest.mark.e2e


def test_an_export_shows_it_is_being_prepared_until_the_file_is_saved(open_page, leader):
    page = open_page(viewport=PHONE)
    log_in(page, commune_official(Commune.objects.get(code=HAI_DONG)).username)
    page.goto(reverse("outreach:team_list"))
    link = page.get_by_role("link", name=vi("Export to CSV"))
    exports = []
    page.on("request", lambda r: "/teams/export.csv" in r.url and exports.append(r))
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    # The answer takes two seconds to start, as a province-wide export might.
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 2_000, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    with page.expect_download(timeout=15_000) as download:
        link.click()
        busy = page.locator("a[data-download][aria-busy=true]")
        expect(busy).to_have_text(vi("Preparing the file…"))
        expect(page.get_by_role("status")).to_have_text(vi("Preparing the file…"))
        screenshot(page, "export-being-prepared-phone")
        busy.click()  # a second tap while waiting starts nothing

    assert download.value.suggested_filename.endswith(".csv")
    assert leader.team.name in download.value.path().read_text(encoding="utf-8-sig")
    assert len(exports) == 1
    expect(page.get_by_role("status")).to_have_text(vi("The file has been downloaded."))
    expect(link).to_have_text(vi("Export to CSV"))
    expect(link).not_to_have_attribute("aria-busy", "true")
