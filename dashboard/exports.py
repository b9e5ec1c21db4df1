"""The dashboard's tables as CSV or XLSX, built from the very figures the page shows.

Each table is read from the page's cached `Figures`, so an export's rows and its totals
row are the page's to the unit. The files themselves are written by outreach/exports.py
(streamed CSV with a byte-order mark, XLSX, formula neutralisation).
"""

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from .selectors import AreaRow, Figures

FORMATS = ("csv", "xlsx")

Rows = list[list[Any]]


def _percent(value: float | None) -> float | str:
    # One decimal, as the page shows it.
    return "" if value is None else round(value, 1)


def _area_header(first: list[str]) -> list[str]:
    return [
        *first,
        _("Active teams"),
        _("Active members"),
        _("Households reached"),
        _("Households"),
        _("Coverage (%)"),
        _("Visits in the period"),
        _("Residents helped in the period"),
        _("Sessions held in the period"),
    ]


def _area_values(row: AreaRow) -> list[Any]:
    if row.level:
        # Sessions held above the table's units: they have no other figure (empty, not 0).
        return ["", "", "", "", "", "", "", row.sessions_held]
    return [
        row.teams,
        row.members,
        row.households_reached,
        "" if row.households is None else row.households,
        _percent(row.coverage),
        row.visits,
        row.residents_helped,
        row.sessions_held,
    ]


def _districts(figures: Figures) -> tuple[list[str], Rows]:
    rows = [[row.code, row.name, *_area_values(row)] for row in figures.districts]
    rows += [["", row.name, *_area_values(row)] for row in figures.districts_above]
    rows.append(["", _("Total"), *_area_values(figures.districts_total)])
    return _area_header([_("Code"), _("District")]), rows


def _communes(figures: Figures) -> tuple[list[str], Rows]:
    """Communes ranked by coverage, the lowest flagged; those without a household count
    last, then the sessions held above the communes, which the total counts too."""
    lowest = _("among the 10 lowest")
    rows = [
        [
            row.rank,
            row.code,
            row.name,
            row.district_name,
            *_area_values(row),
            lowest if row.lowest else "",
        ]
        for row in [*figures.ranking, *figures.unranked]
    ]
    rows += [["", "", row.name, "", *_area_values(row), ""] for row in figures.communes_above]
    rows.append(["", "", _("Total"), "", *_area_values(figures.communes_total), ""])
    header = _area_header([_("Rank"), _("Code"), _("Commune"), _("District")])
    return [*header, _("Note")], rows


def _services(figures: Figures) -> tuple[list[str], Rows]:
    rows = [[row.label, row.visits] for row in figures.services]
    return [_("Service"), _("Visits in the period")], rows


def _readiness(figures: Figures) -> tuple[list[str], Rows]:
    rows = [
        [row.label, row.households_yes, row.households_answered, _percent(row.percent)]
        for row in figures.readiness
    ]
    header = [_("Readiness item"), _("Households with it"), _("Households asked"), _("Share (%)")]
    return header, rows


def _trend(figures: Figures) -> tuple[list[str], Rows]:
    rows = [[row.label, row.visits, row.households_first] for row in figures.trend]
    rows.append(
        [
            _("Total"),
            sum(row.visits for row in figures.trend),
            sum(row.households_first for row in figures.trend),
        ]
    )
    second = figures.trend_households_label or _("Households reached for the first time")
    return [_("Month"), _("Visits"), second], rows


def _teams(figures: Figures) -> tuple[list[str], Rows]:
    rows = [
        [
            row.name,
            _("Active") if row.active else _("Dissolved"),
            row.visits,
            row.residents_helped,
            row.visits_total,
            row.households_reached,
            row.last_visited_on,
        ]
        for row in figures.teams
    ]
    rows.append(
        [
            _("Total"),
            "",
            sum(row.visits for row in figures.teams),
            sum(row.residents_helped for row in figures.teams),
            sum(row.visits_total for row in figures.teams),
            sum(row.households_reached for row in figures.teams),
            None,
        ]
    )
    header = [
        _("Team"),
        _("Status"),
        _("Visits in the period"),
        _("Residents helped in the period"),
        _("Visits since it started"),
        _("Households reached"),
        _("Last visit"),
    ]
    return header, rows


def _hamlets(figures: Figures) -> tuple[list[str], Rows]:
    rows = [
        [row.name, row.households_reached, row.visits, row.households_first, row.residents_helped]
        for row in figures.hamlets
    ]
    rows.append(
        [
            _("Total"),
            sum(row.households_reached for row in figures.hamlets),
            sum(row.visits for row in figures.hamlets),
            sum(row.households_first for row in figures.hamlets),
            sum(row.residents_helped for row in figures.hamlets),
        ]
    )
    header = [
        _("Hamlet"),
        _("Households reached"),
        _("Visits in the period"),
        _("Households reached for the first time in the period"),
        _("Residents helped in the period"),
    ]
    return header, rows


PROVINCE, DISTRICT, COMMUNE = "province", "district", "commune"

# Table name in the URL -> (sheet title, the pages that show it, the table from their figures).
TABLES: dict[str, tuple[Any, tuple[str, ...], Callable[[Figures], tuple[list[str], Rows]]]] = {
    "districts": (gettext_lazy("Districts"), (PROVINCE,), _districts),
    "communes": (pgettext_lazy("list heading", "Communes"), (PROVINCE, DISTRICT), _communes),
    "services": (gettext_lazy("Services"), (PROVINCE, DISTRICT, COMMUNE), _services),
    "readiness": (gettext_lazy("Readiness"), (PROVINCE, DISTRICT, COMMUNE), _readiness),
    "trend": (gettext_lazy("Monthly trend"), (PROVINCE, DISTRICT, COMMUNE), _trend),
    "teams": (gettext_lazy("Teams"), (COMMUNE,), _teams),
    "hamlets": (gettext_lazy("Hamlets"), (COMMUNE,), _hamlets),
}


def shown_on(name: str, level: str) -> bool:
    """Whether the page of a place at `level` shows the table."""
    return level in TABLES[name][1]


def table(name: str, figures: Figures) -> tuple[list[str], Rows, str]:
    """The header, rows and sheet title of a table of a page's figures."""
    title, _levels, build = TABLES[name]
    header, rows = build(figures)
    return header, rows, str(title)
