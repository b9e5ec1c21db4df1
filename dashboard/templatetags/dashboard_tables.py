"""The dashboards' long tables (every commune of the province: 226 rows of a dozen cells)
cost what their cells cost. These do per row only what differs from row to row:

    {% unit_link "dashboard:commune" period_query as commune_link %}
    <a href="{{ row.code|unit_href:commune_link }}">...</a>
    <td class="num">{{ row.visits|number }}</td><td class="num">{{ row.coverage|percent }}</td>

`unit_link` reverses a unit's URL once per table and `unit_href` puts each row's code
in it, where {% url %} would resolve the route again for every row; `number` writes an
integer with the language's thousands separator (1.900.000 in Vietnamese, 1,900,000 in
English), as `intcomma` does, and `percent` a share with one decimal (85,0% in
Vietnamese), as `floatformat:1` does, each without Django's general number formatting.
"""

import html
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils.formats import get_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()

# A code no unit has, put in the reversed URL to find where a row's code goes.
_MARK = 987654321


@dataclass(frozen=True)
class UnitLink:
    """A unit page's address around its code, and the query its links keep."""

    head: str
    tail: str
    query: str


@register.simple_tag
def unit_link(name: str, query: str = "") -> UnitLink:
    """The address of the page `name` (a route taking one code) for any code."""
    head, tail = reverse(name, args=[_MARK]).split(str(_MARK))
    return UnitLink(head, tail, query)


@register.filter
def unit_href(code: int, link: UnitLink) -> str:
    """The address of the unit `code` on `link`'s page, with its query."""
    address = f"{link.head}{code}{link.tail}"
    return f"{address}?{link.query}" if link.query else address


@register.filter(is_safe=True)
def number(value, separator: str | None = None) -> str:
    """An integer with the thousands separator of the language (as `intcomma`)."""
    if type(value) is not int:
        return intcomma(value)
    return f"{value:,}".replace(",", separator or get_format("THOUSAND_SEPARATOR"))


_TENTH = Decimal("0.1")


@register.filter(is_safe=True)
def percent(value: float | None, separator: str | None = None) -> str:
    """A percentage with one decimal, rounded half up, and the decimal separator of the
    language (as `floatformat:1`), with its sign; a dash for none."""
    if value is None:
        return "–"
    tenths = Decimal(repr(value)).quantize(_TENTH, rounding=ROUND_HALF_UP)
    return f"{tenths}%".replace(".", separator or get_format("DECIMAL_SEPARATOR"))


# --- Rows written in Python ----------------------------------------------------------
# The province's page shows the ranking's ends and every priority commune (84 in Nam
# Định): as templates, 11 ms of a page computed for a new period, a node and a variable
# lookup per cell; through format_html, still 4 ms (Django's escape checks every
# argument for lazy text). Here a row is one f-string: the texts escaped by the standard
# library's html.escape, which escapes what Django's does the same way (& < > " '), the
# numbers written by `number` and `percent`, which hold digits and separators only.


_LOWEST = ' class="lowest"'
_NONE_HELD = ' class="none-held"'


def _text(value) -> str:
    return html.escape(str(value))


@register.simple_tag
def ranking_rows(rows, show_district: bool, commune_link: UnitLink) -> str:
    """The <tr> of each commune at an end of the ranking (ranking.html)."""
    flag = f' <strong class="flag">{_text(_("among the 10 lowest"))}</strong>'
    thousands, decimal = _separators()
    return mark_safe(
        "".join(
            f"\n    <tr{_LOWEST if row.lowest else ''}>\n"
            f'      <td class="num">{row.rank}</td>\n'
            f'      <th scope="row"><a href="{_text(unit_href(row.code, commune_link))}">'
            f"{_text(row.name)}</a>{flag if row.lowest else ''}</th>"
            f"{_district_cell(row, show_district)}\n"
            f'      <td class="num optional">{number(row.households_reached, thousands)}</td>\n'
            f'      <td class="num optional">{number(row.households, thousands)}</td>\n'
            f'      <td class="num">{percent(row.coverage, decimal)}</td>\n    </tr>'
            for row in rows
        )
    )


@register.simple_tag
def priority_rows(rows, show_district: bool, commune_link: UnitLink) -> str:
    """The <tr> of each priority commune (priority.html)."""
    thousands, decimal = _separators()
    return mark_safe(
        "".join(
            f"\n    <tr{'' if row.sessions_held else _NONE_HELD}>\n"
            f'      <th scope="row"><a href="{_text(unit_href(row.code, commune_link))}">'
            f"{_text(row.name)}</a></th>{_district_cell(row, show_district)}\n"
            f'      <td class="optional">{_text(row.new_rural_status)}</td>\n'
            f'      <td class="num">{percent(row.coverage, decimal)}</td>\n'
            f'      <td class="num">{number(row.sessions_held, thousands)}</td>\n'
            f'      <td class="num optional">{number(row.attendees, thousands)}</td>\n    </tr>'
            for row in rows
        )
    )


def _separators() -> tuple[str, str]:
    """The language's thousands and decimal separators, read once for a table."""
    return get_format("THOUSAND_SEPARATOR"), get_format("DECIMAL_SEPARATOR")


def _district_cell(row, show_district: bool) -> str:
    if not show_district:
        return ""
    return f'\n      <td class="optional">{_text(row.district_name)}</td>'
