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

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils.formats import get_format

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
def number(value) -> str:
    """An integer with the thousands separator of the language (as `intcomma`)."""
    if type(value) is not int:
        return intcomma(value)
    return f"{value:,}".replace(",", get_format("THOUSAND_SEPARATOR"))


_TENTH = Decimal("0.1")


@register.filter(is_safe=True)
def percent(value: float | None) -> str:
    """A percentage with one decimal, rounded half up, and the decimal separator of the
    language (as `floatformat:1`), with its sign; a dash for none."""
    if value is None:
        return "–"
    tenths = Decimal(repr(value)).quantize(_TENTH, rounding=ROUND_HALF_UP)
    return f"{tenths}%".replace(".", get_format("DECIMAL_SEPARATOR"))
