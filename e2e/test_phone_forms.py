"""The forms on a phone: big enough to tap, and usable with JavaScript turned off.

Touch targets are measured in Chromium on the 390x844 phone viewport: every button,
every link inside a form or its actions, and every field (a checkbox or radio button by
its label, which is what a thumb taps) is at least 44 by 44 CSS pixels, the size WCAG
2.5.5 asks for.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.tests.factories import commune_official
from communes.models import Commune
from outreach.models import Household, Visit

from .conftest import HAI_DONG, PHONE, fill_visit, log_in, menu, screenshot, vi

pytestmark = pytest.mark.e2e

TOO_SMALL = """min => {
  const targets = document.querySelectorAll(
    "button, input:not([type=hidden]), select, textarea, main form a, main .actions a"
  );
  const small = [];
  for (const element of targets) {
    const choice = element.matches("input[type=checkbox], input[type=radio]");
    const box = choice && element.labels.length ? element.labels[0] : element;
    const rect = box.getBoundingClientRect();
    if (!rect.width && !rect.height) continue;  // not shown (a folded filter)
    if (rect.width < min || rect.height < min) {
      const name = element.name || element.textContent.trim().slice(0, 30);
      small.push(`${element.tagName.toLowerCase()} ${name}: ` +
                 `${Math.round(rect.width)}x${Math.round(rect.height)}`);
    }
  }
  return small;
}"""


def too_small(page: Page) -> list[str]:
    """The touch targets on the page smaller than 44 by 44 pixels, with their size."""
    return page.evaluate(TOO_SMALL, 44)


def test_buttons_links_and_fields_of_the_forms_are_big_enough_to_tap_on_a_phone(open_page, leader):
    found = {}
    page = open_page(viewport=PHONE)
    page.goto(reverse("login"))
    found["login"] = too_small(page)
    page.locator("main button[type=submit]").click()  # nothing typed: the errors show
    expect(page.locator(".field-error").first).to_be_visible()
    found["login with errors"] = too_small(page)

    log_in(page, leader.user.username, leader.password)
    page.goto(reverse("outreach:visit_new"))
    found["visit form"] = too_small(page)
    page.get_by_label(leader.member.full_name, exact=True).uncheck()
    page.get_by_role("button", name=vi("Save visit")).click()
    expect(page.locator(".field-error").first).to_be_visible()
    found["visit form with errors"] = too_small(page)

    official = open_page(viewport=PHONE)
    log_in(official, commune_official(Commune.objects.get(code=HAI_DONG)).username)
    official.goto(reverse("outreach:team_create"))
    found["team form"] = too_small(official)
    official.goto(reverse("outreach:member_create", args=[leader.team.pk]))
    found["member form"] = too_small(official)

    assert found == {page: [] for page in found}


def test_the_measure_finds_a_target_too_small(open_page):
    page = open_page(viewport=PHONE)
    page.set_content(
        "<main><form><input name=tiny style='height:20px'><button>OK</button>"
        "<label><input type=checkbox name=box> Yes</label><a href=#>help</a></form></main>"
    )

    assert [line.split(":")[0] for line in too_small(page)] == [
        "input tiny",
        "button OK",
        "input box",  # measured by its label
        "a help",
    ]


def test_a_leader_logs_a_visit_with_javascript_turned_off(open_page, leader):
    # Without the policy, so that only the browser's switch can stop the probe script.
    page = open_page(viewport=PHONE, javascript=False, csp=False)
    page.goto(reverse("login"))
    page.add_script_tag(content="document.documentElement.dataset.scripts = 'on'")
    expect(page.locator("html")).not_to_have_attribute("data-scripts", "on")  # scripts are off

    log_in(page, leader.user.username, leader.password)
    menu(page).get_by_role("link", name=vi("Log a visit")).click()
    fill_visit(
        page,
        leader,
        address="Số 20, ngõ 5",
        head="Hoàng Văn Nam",
        services=["portal_account", "cyber_safety"],
    )
    page.get_by_role("button", name=vi("Save visit")).click()

    expect(page).to_have_url(re.compile(r"/visits/\d+/$"))
    expect(page.get_by_text(vi("Visit saved."))).to_be_visible()
    visit = Visit.objects.get()
    assert visit.team == leader.team and visit.created_by == leader.user
    assert visit.residents_helped == 3
    assert set(visit.services.values_list("code", flat=True)) == {"portal_account", "cyber_safety"}
    assert Household.objects.get().head_name == "Hoàng Văn Nam"
    screenshot(page, "visit-saved-without-javascript-phone")
