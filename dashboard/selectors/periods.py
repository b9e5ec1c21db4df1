"""The periods a dashboard can show: this month, quarter, year, or a custom range."""

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

# A trend of fewer months than this says little: show the last year instead.
TREND_MIN_MONTHS = 3
TREND_DEFAULT_MONTHS = 12
TREND_MAX_MONTHS = 36


# --- Periods ---------------------------------------------------------------------------


class PeriodKind:
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    CUSTOM = "custom"

    # The default first, so that a filter bar with nothing chosen shows what is used.
    choices = [
        (YEAR, _("This year")),
        (QUARTER, _("This quarter")),
        (MONTH, _("This month")),
        (CUSTOM, _("Custom range")),
    ]


@dataclass(frozen=True)
class Period:
    """The days a page's figures cover: stocks at `end`, changes from `start` to `end`."""

    kind: str
    start: date
    end: date

    @property
    def year(self) -> int:
        return self.end.year

    @property
    def year_start(self) -> date:
        return date(self.end.year, 1, 1)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.start.isoformat()}:{self.end.isoformat()}"

    def query(self) -> dict[str, str]:
        """The filter bar's parameters for this period, for links that keep it."""
        if self.kind == PeriodKind.CUSTOM:
            return {
                "period": self.kind,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
            }
        return {"period": self.kind}

    def months(self) -> list[date]:
        """The first days of the months a trend shows: the period's, or the last year's
        for a short period, and never more than TREND_MAX_MONTHS."""
        last = self.end.replace(day=1)
        count = (last.year - self.start.year) * 12 + last.month - self.start.month + 1
        if count < TREND_MIN_MONTHS:
            count = TREND_DEFAULT_MONTHS
        count = min(count, TREND_MAX_MONTHS)
        months = []
        year, month = last.year, last.month
        for _index in range(count):
            months.append(date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return months[::-1]


def period_current(kind: str, today: date) -> Period:
    """This year, quarter or month up to today."""
    if kind == PeriodKind.MONTH:
        start = today.replace(day=1)
    elif kind == PeriodKind.QUARTER:
        start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    else:
        kind, start = PeriodKind.YEAR, date(today.year, 1, 1)
    return Period(kind, start, today)


def period_custom(start: date, end: date, today: date) -> Period:
    """A range the user typed; nothing is known after today, so it ends today at most."""
    return Period(PeriodKind.CUSTOM, start, min(end, today))
