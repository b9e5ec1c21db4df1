"""The rows the province's page writes in Python (dashboard_tables.ranking_rows and
priority_rows) are the rows its templates wrote: same cells, same escaping, same
numbers in either language."""

import re

import pytest
from django.template import Context, Template
from django.utils import translation

from dashboard.selectors.figures import AreaRow
from dashboard.templatetags.dashboard_tables import priority_rows, ranking_rows, unit_link

# The templates the rows replaced, as they were.
# ruff: noqa: E501 (template lines kept whole)
RANKING_ROW = """{% load i18n dashboard_tables %}{% for row in rows %}
    <tr{% if row.lowest %} class="lowest"{% endif %}>
      <td class="num">{{ row.rank }}</td>
      <th scope="row"><a href="{{ row.code|unit_href:commune_link }}">{{ row.name }}</a>{% if row.lowest %} <strong class="flag">{% translate "among the 10 lowest" %}</strong>{% endif %}</th>
      {% if show_district %}<td class="optional">{{ row.district_name }}</td>{% endif %}
      <td class="num optional">{{ row.households_reached|number }}</td>
      <td class="num optional">{{ row.households|number }}</td>
      <td class="num">{{ row.coverage|percent }}</td>
    </tr>{% endfor %}"""
PRIORITY_ROW = """{% load i18n dashboard_tables %}{% for row in rows %}
    <tr{% if not row.sessions_held %} class="none-held"{% endif %}>
      <th scope="row"><a href="{{ row.code|unit_href:commune_link }}">{{ row.name }}</a></th>
      {% if show_district %}<td class="optional">{{ row.district_name }}</td>{% endif %}
      <td class="optional">{{ row.new_rural_status }}</td>
      <td class="num">{% if row.coverage is None %}–{% else %}{{ row.coverage|percent }}{% endif %}</td>
      <td class="num">{{ row.sessions_held|number }}</td>
      <td class="num optional">{{ row.attendees|number }}</td>
    </tr>{% endfor %}"""


def _rows() -> list[AreaRow]:
    return [
        AreaRow(
            code=13675,
            name='Xã "Mỹ" & <Tân>\'s',
            district_name="Thành phố Nam Định & co",
            households_reached=1234567,
            households=2345678,
            households_reached_counted=1234567,
            sessions_held=0,
            attendees=1900000,
            new_rural_status="Nâng cao <b>",
            rank=1,
            lowest=False,
        ),
        AreaRow(
            code=14269,
            name="Hải Đông",
            district_name="Hải Hậu",
            households_reached=2,
            households=3,
            households_reached_counted=2,
            sessions_held=12,
            attendees=5,
            new_rural_status="Kiểu mẫu",
            rank=226,
            lowest=True,
        ),
        AreaRow(code=14270, name="Hải Tây", households=None, rank=None),
    ]


def _squeezed(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("show_district", [True, False])
@pytest.mark.parametrize(
    ("template", "tag"), [(RANKING_ROW, ranking_rows), (PRIORITY_ROW, priority_rows)]
)
def test_the_rows_are_the_templates_rows(template, tag, show_district, language):
    with translation.override(language):
        link = unit_link("dashboard:commune", "period=custom&start=2026-01-01")
        context = {"rows": _rows(), "show_district": show_district, "commune_link": link}
        expected = Template(template).render(Context(context))
        written = tag(_rows(), show_district, link)
    assert _squeezed(written) == _squeezed(expected)
    assert "&amp;start=" in written and "&lt;Tân&gt;" in written
