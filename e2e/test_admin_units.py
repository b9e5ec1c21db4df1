"""Django admin's commune list on an administrator's screen (1366 × 768): every column
in view, each name on one line, the figures grouped as Vietnamese write them."""

import codecs
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from communes.models import Commune

from .conftest import DESKTOP, log_in, screenshot, vi

pytestmark = pytest.mark.e2e

GIAO_THUY = 365  # Huyện Giao Thủy


def test_the_commune_list_fits_an_administrators_screen(open_page):
    # The widest a page gets: every commune with figures and the longest status.
    Commune.objects.update(
        population=1_234_567,
        working_age_population=16_003,
        households=16_003,
        new_rural_status=Commune.NewRuralStatus.ADVANCED,
    )
    admin = UserFactory(is_staff=True, is_superuser=True)
    page = open_page(viewport=DESKTOP)
    log_in(page, admin.username)

    page.goto(reverse("admin:communes_commune_changelist"))

    table = page.locator("#result_list")
    assert table.locator("tbody tr").count() == 100  # a full page
    # Nothing reaches past the window's right edge: no column is cut off, no sideways
    # scrolling of the page.
    width = page.evaluate("() => document.documentElement.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert table.bounding_box()["x"] + table.bounding_box()["width"] <= width
    results = page.locator(".results")
    assert page.evaluate("(e) => e.scrollWidth <= e.clientWidth", results.element_handle())
    # Each name on one line: as tall as the code beside it.
    heights = page.evaluate(
        """() => [...document.querySelectorAll('#result_list tbody tr')].map(row => [
            row.querySelector('.field-code').getBoundingClientRect().height,
            row.querySelector('.field-name').getBoundingClientRect().height,
        ])"""
    )
    assert all(abs(name - code) < 1 for code, name in heights), heights
    households = table.locator("td.field-households_grouped").first
    assert households.inner_text() == "16.003"
    assert table.locator("td.field-population_grouped").first.inner_text() == "1.234.567"
    screenshot(page, "admin-communes-1366")


def test_the_commune_list_finds_a_districts_communes_typed_without_accents(open_page):
    admin = UserFactory(is_staff=True, is_superuser=True)
    page = open_page(viewport=DESKTOP)
    log_in(page, admin.username)
    page.goto(reverse("admin:communes_commune_changelist"))

    page.locator("#searchbar").fill("giao thuy")
    page.locator("#searchbar").press("Enter")

    page.wait_for_url(lambda url: "q=giao" in url)
    names = page.locator("#result_list tbody td.field-name").all_inner_texts()
    expected = Commune.objects.filter(district__code=GIAO_THUY).values_list("name", flat=True)
    assert sorted(names) == sorted(expected)
    assert len(names) > 10


def test_the_commune_export_downloads_a_csv_named_after_the_day(open_page):
    """The export page under the Content-Security-Policy: its "select all" box works
    (no inline handler), and the file is the list with its mark, named for today."""
    admin = UserFactory(is_staff=True, is_superuser=True)
    page = open_page(viewport=DESKTOP)
    log_in(page, admin.username)
    page.goto(reverse("admin:communes_commune_export"))
    columns = page.locator(".selectable-field-export-row input[type=checkbox]")

    page.locator("#select-all-toggle").uncheck()
    assert not any(box.is_checked() for box in columns.all())
    page.locator("#select-all-toggle").check()
    assert all(box.is_checked() for box in columns.all())
    page.locator("#id_format").select_option(label="csv")
    with page.expect_download() as download:
        page.get_by_role("button", name=vi("Export")).click()

    assert download.value.suggested_filename == f"xa-{timezone.localdate():%Y-%m-%d}.csv"
    content = Path(download.value.path()).read_bytes()
    assert content.startswith(codecs.BOM_UTF8)
    assert content.decode("utf-8-sig").count("\n") == 1 + 226
