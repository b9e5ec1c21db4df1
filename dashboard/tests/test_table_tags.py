"""The long tables' template pieces (dashboard/templatetags/dashboard_tables.py) write
what Django's own would: the same addresses as {% url %}, the same numbers as `intcomma`
and `floatformat:1`, in both languages."""

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import translation

from dashboard.templatetags.dashboard_tables import number, percent, unit_href, unit_link

INTEGERS = [0, 7, -7, 999, 1_000, -1_234, 12_345, 1_900_000, 600_000_000, 10**12]
SHARES = [0.0, 0.05, 0.25, 12.25, 33.333333, 66.66666, 85.0, 99.95, 100.0, 1234.56, 1e-7]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_numbers_are_written_as_intcomma_and_floatformat_write_them(language):
    with translation.override(language):
        assert [number(n) for n in INTEGERS] == [intcomma(n) for n in INTEGERS]
        assert [percent(s) for s in SHARES] == [f"{floatformat(s, 1)}%" for s in SHARES]
        assert percent(None) == "–"


def test_numbers_in_vietnamese_group_thousands_with_dots():
    with translation.override("vi"):
        assert number(1_900_000) == "1.900.000"
        assert percent(85) == "85,0%"
    with translation.override("en"):
        assert number(1_900_000) == "1,900,000"
        assert percent(85) == "85.0%"


def test_a_unit_s_address_is_the_route_s_with_the_query():
    link = unit_link("dashboard:commune", "period=year&district=366")
    assert unit_href(14269, link) == reverse("dashboard:commune", args=[14269]) + (
        "?period=year&district=366"
    )
    assert unit_href(7, unit_link("dashboard:team")) == reverse("dashboard:team", args=[7])


def test_the_tags_in_a_template_escape_the_query():
    template = Template(
        '{% load dashboard_tables %}{% unit_link "dashboard:district" query as link %}'
        '<a href="{{ code|unit_href:link }}">{{ value|number }}</a>'
    )
    # In Vietnamese whatever language an earlier test in this process left active.
    with translation.override("vi"):
        html = template.render(
            Context({"query": "period=custom&start=2025-01-01", "code": 366, "value": 1234})
        )
    assert html == '<a href="/dashboard/district/366/?period=custom&amp;start=2025-01-01">1.234</a>'
