"""Reading a cell the way every import reads it: text as typed (the quote our exports put
before a formula's sign taken off), names that are never formulas, phones, dates, years,
and the words that mean yes or no."""

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..phone import InvalidPhone, normalize_phone
from ..text import typed
from .table import CellError

FORMULA_FIRST = "=+-@"


def cell_text(value: Any) -> str:
    """The cell as text, as written: the quote before a formula's sign kept."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(typed(str(value)).split())


def is_quoted(text: str) -> bool:
    """Whether the text bears the quote our exports put before text a spreadsheet would
    run as a formula."""
    return len(text) > 1 and text[0] == "'" and text[1] in FORMULA_FIRST


def read_text(value: Any) -> str:
    text = cell_text(value)
    return text[1:] if is_quoted(text) else text


def read_name(value: Any) -> str:
    """A person's or an agency's name, never text a spreadsheet would run as a formula
    ("=HYPERLINK(…)", "@SUM(A1)") once the portal exports it or the list is opened.

    Such text that our own export quoted is what the portal already holds: it reads back
    as it is, so that an export re-imports unchanged.
    """
    text = cell_text(value)
    if is_quoted(text):
        return text[1:]
    if text and text[0] in FORMULA_FIRST:
        raise CellError(
            _("A name cannot start with =, +, - or @: spreadsheets would run it as a formula.")
        )
    return text


def read_phone(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A number cell has lost the leading zero (912345678, or 1621234567 for an old one).
        digits = str(int(value))
        if not digits.startswith(("0", "84")):
            digits = "0" + digits
        value = digits
    text = read_text(value)
    if not text:
        return ""
    try:
        return normalize_phone(text)
    except InvalidPhone:
        raise CellError(_("Enter a Vietnamese mobile number, such as 0912 345 678.")) from None


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y")


def read_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value < 100000:
        # An Excel serial day number in a cell not formatted as a date.
        return date(1899, 12, 30) + timedelta(days=int(value))
    text = read_text(value).split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a day, no time)
        except ValueError:
            continue
    raise CellError(_("Enter the date as day/month/year, such as 29/11/2026."))


def read_past_date(value: Any) -> date | None:
    """A day that has already come: nobody joins a team or leaves it tomorrow (the
    member and team forms refuse it too)."""
    day = read_date(value)
    if day is not None and day > timezone.localdate():
        raise CellError(_("Choose today or a day in the past."))
    return day


def read_year(value: Any) -> int | None:
    if isinstance(value, datetime | date):
        return value.year
    text = read_text(value)
    if not text:
        return None
    if re.fullmatch(r"\d+(\.0+)?", text):
        try:
            return int(float(text))
        except OverflowError:  # more digits than a float holds: infinite
            raise CellError(_("Enter the year with four digits, such as 1995.")) from None
    day = read_date(text)
    return day.year if day else None


YES_WORDS = {"co", "x", "yes", "y", "true", "1", "da", "da tham gia", "v"}
NO_WORDS = {"khong", "no", "n", "false", "0", "chua", "chua tham gia"}
YES = gettext_lazy("Yes")
NO = gettext_lazy("No")
