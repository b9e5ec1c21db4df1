"""The Content-Security-Policy as the browser enforces it.

Every browser test opens its pages with the policy enforced and fails on any refusal
(e2e/conftest.py's open_page), so the journeys prove the pages need nothing inline. This
file proves that the policy is there and that a refusal would be heard.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from e2e.conftest import DESKTOP

# Drives Chromium like the other browser tests: `make check` leaves it to `make test`.
pytestmark = pytest.mark.e2e


def test_an_inline_script_is_refused_and_the_refusal_is_heard(open_page):
    page = open_page(viewport=DESKTOP)
    response = page.goto(reverse("login"))
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy

    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "document.documentElement.dataset.injected = 'ran'";
            document.head.appendChild(script);
        }"""
    )

    expect(page.locator("html")).not_to_have_attribute("data-injected", "ran")
    page.wait_for_function("() => true")  # let the console event arrive
    assert any("Content Security Policy" in line for line in open_page.refused)
    open_page.refused.clear()  # heard, as it should be: not a failure of this test
