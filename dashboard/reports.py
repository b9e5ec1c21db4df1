"""The monthly report of one district, as an XLSX workbook.

Four sheets: the district's figures against its targets ("Summary"), the same figures
for each of its communes with their coverage, the district's own trainings (in no
commune) and the total the rows add up to ("Communes"), visits by service
("Services") and trainings by audience ("Trainings").

Like the dashboards, the report reads only the summary tables (CommuneDay,
CommuneDayService, TrainingDay, TrainingYear) and the communes' own attributes, in a
fixed number of queries whatever the district's size.

Each figure is given for the month and cumulatively to the month's end. What
"cumulatively" means depends on the figure:
- counts that start again each year (visits, residents helped, sessions...): from
  1 January to the month's end, which is what a year's target is compared with;
- levels (households reached, active teams, members, members on the Zalo OA): where the
  level stood at the month's end, since the campaign began. Their monthly figure is the
  month's net change;
- officials trained: the distinct people trained in the year so far (a count of people
  does not add up over months), with no monthly figure.
"""

import calendar
import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field

import openpyxl
from django.db.models import F, Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from communes.models import Commune, District
from core.exports import neutralise
from outreach.models import Service
from trainings.models import Audience

from .models import CommuneDay, CommuneDayService, Figure, TrainingDay, TrainingYear
from .targets import progress, targets_for

FLOW, LEVEL, YEARLY = "flow", "level", "yearly"
PERCENT = "0.0%"


@dataclass(frozen=True)
class ReportFigure:
    key: str
    label: Promise
    kind: str
    # The Figure whose target it is compared with, if there can be one.
    target: str | None = None


REPORT_FIGURES = (
    ReportFigure("visits", gettext_lazy("Visits"), FLOW),
    ReportFigure(
        "households_reached", Figure.HOUSEHOLDS_REACHED.label, LEVEL, Figure.HOUSEHOLDS_REACHED
    ),
    ReportFigure("return_visits", gettext_lazy("Return visits"), FLOW),
    ReportFigure("residents_helped", Figure.RESIDENTS_HELPED.label, FLOW, Figure.RESIDENTS_HELPED),
    ReportFigure("teams", Figure.TEAMS.label, LEVEL, Figure.TEAMS),
    ReportFigure("members", Figure.MEMBERS.label, LEVEL, Figure.MEMBERS),
    ReportFigure("zalo_members", Figure.ZALO_MEMBERS.label, LEVEL, Figure.ZALO_MEMBERS),
    ReportFigure("sessions_held", Figure.SESSIONS_HELD.label, FLOW, Figure.SESSIONS_HELD),
    ReportFigure("attendees", gettext_lazy("Attendees"), FLOW),
    ReportFigure(
        "course_completions", Figure.COURSE_COMPLETIONS.label, FLOW, Figure.COURSE_COMPLETIONS
    ),
    ReportFigure(
        "officials_trained", Figure.OFFICIALS_TRAINED.label, YEARLY, Figure.OFFICIALS_TRAINED
    ),
)

# How each figure is summed from its summary table; levels are kept as day changes.
COMMUNE_DAY_SUMS = {
    "visits": F("visits"),
    "households_reached": F("households_first"),
    "return_visits": F("return_visits"),
    "residents_helped": F("residents_helped"),
    "teams": F("teams_formed") - F("teams_dissolved"),
    "members": F("members_joined") - F("members_left"),
    "zalo_members": F("zalo_joined") - F("zalo_left"),
}
TRAINING_DAY_SUMS = {
    "sessions_held": F("sessions_held"),
    "attendees": F("attendees"),
    "course_completions": F("course_completions"),
}


@dataclass
class PlaceFigures:
    """One place's sums, keyed "<figure>:<period>" with period month, year or all."""

    sums: Counter = field(default_factory=Counter)
    officials_trained: int | None = None

    def in_month(self, figure: ReportFigure) -> int | None:
        return None if figure.kind == YEARLY else self.sums[f"{figure.key}:month"]

    def cumulative(self, figure: ReportFigure) -> int | None:
        if figure.kind == YEARLY:
            return self.officials_trained
        return self.sums[f"{figure.key}:{'all' if figure.kind == LEVEL else 'year'}"]

    def at_year_start(self, figure: ReportFigure) -> int:
        if figure.kind != LEVEL:
            return 0
        return self.sums[f"{figure.key}:all"] - self.sums[f"{figure.key}:year"]


@dataclass
class DistrictMonth:
    district: District
    year: int
    month: int
    first: dt.date
    last: dt.date
    communes: list[tuple[Commune, PlaceFigures]]
    # Trainings held or completed at district level, in none of its communes.
    district_level: PlaceFigures
    total: PlaceFigures
    # (service, visits in the month, visits from 1 January)
    services: list[tuple[Service, int, int]]
    # audience value -> sums of the training figures
    audiences: dict[str, Counter]
    targets: dict[str, int]

    @property
    def households(self) -> int | None:
        """The district's households, if every commune's is known."""
        counts = [commune.households for commune, _figures in self.communes]
        return sum(counts) if counts and None not in counts else None


def _period_sums(sums: dict, first: dt.date, jan1: dt.date, periods: tuple[str, ...]) -> dict:
    filters = {"month": Q(day__gte=first), "year": Q(day__gte=jan1), "all": None}
    return {
        f"{key}:{period}": Sum(expression, filter=filters[period])
        for key, expression in sums.items()
        for period in periods
    }


def _counter(row: dict, keys) -> Counter:
    return Counter({key: row[key] or 0 for key in keys})


def district_month(district: District, year: int, month: int) -> DistrictMonth:
    """The district's figures for a month, from the summary tables (six queries)."""
    first = dt.date(year, month, 1)
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    jan1 = dt.date(year, 1, 1)
    communes = list(Commune.objects.filter(district=district).order_by("code"))

    by_commune: dict[int | None, PlaceFigures] = {c.pk: PlaceFigures() for c in communes}
    by_commune[None] = PlaceFigures()
    outreach_sums = _period_sums(COMMUNE_DAY_SUMS, first, jan1, ("month", "year", "all"))
    commune_days = (
        CommuneDay.objects.filter(district=district, day__lte=last)
        .values("commune_id")
        .annotate(**outreach_sums)
        .order_by()
    )
    for row in commune_days:
        by_commune.setdefault(row["commune_id"], PlaceFigures()).sums.update(
            _counter(row, outreach_sums)
        )

    training_sums = _period_sums(TRAINING_DAY_SUMS, first, jan1, ("month", "year"))
    training_days = (
        TrainingDay.objects.filter(district=district, day__gte=jan1, day__lte=last)
        .values("commune_id", "audience")
        .annotate(**training_sums)
        .order_by()
    )
    audiences: dict[str, Counter] = {}
    for row in training_days:
        counts = _counter(row, training_sums)
        by_commune.setdefault(row["commune_id"], PlaceFigures()).sums.update(counts)
        audiences.setdefault(row["audience"], Counter()).update(counts)

    total = PlaceFigures()
    for figures in by_commune.values():
        total.sums.update(figures.sums)
    trained = TrainingYear.objects.filter(
        Q(district=district, commune=None) | Q(commune__district=district), year=year
    ).values_list("commune_id", "officials_trained")
    for commune_id, officials in trained:
        if commune_id is None:
            total.officials_trained = officials
        elif commune_id in by_commune:
            by_commune[commune_id].officials_trained = officials

    service_sums = _period_sums({"visits": F("visits")}, first, jan1, ("month", "year"))
    service_rows = {
        row["service_id"]: row
        for row in CommuneDayService.objects.filter(district=district, day__gte=jan1, day__lte=last)
        .values("service_id")
        .annotate(**service_sums)
        .order_by()
    }
    services = []
    for service in Service.objects.order_by("sort_order", "code"):
        row = service_rows.get(service.pk, {})
        if service.is_active or row:
            services.append((service, row.get("visits:month") or 0, row.get("visits:year") or 0))

    return DistrictMonth(
        district=district,
        year=year,
        month=month,
        first=first,
        last=last,
        communes=[(c, by_commune[c.pk]) for c in communes],
        district_level=by_commune[None],
        total=total,
        services=services,
        audiences=audiences,
        targets=targets_for(year, district_id=district.pk),
    )


# --- The workbook ----------------------------------------------------------------------


def _bold_row(sheet, values: list) -> None:
    sheet.append([neutralise(v) for v in values])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _widths(sheet, first: int, others: int) -> None:
    sheet.column_dimensions["A"].width = first
    for index in range(2, sheet.max_column + 1):
        sheet.column_dimensions[get_column_letter(index)].width = others


def _summary(workbook, report: DistrictMonth, today: dt.date) -> None:
    sheet = workbook.active
    sheet.title = _("Summary")[:31]
    _bold_row(
        sheet,
        [
            _("Monthly report of %(district)s, %(month)s")
            % {"district": report.district.name, "month": report.first.strftime("%m/%Y")}
        ],
    )
    sheet.append([_("Made on %(date)s") % {"date": today.strftime("%d/%m/%Y")}])
    sheet.append([])
    _bold_row(
        sheet,
        [
            _("Figure"),
            _("In the month"),
            _("Cumulative to the month's end"),
            _("Target for the year"),
            _("Share of the target"),
            _("Projected for 31 December"),
            _("On pace"),
        ],
    )
    sheet.freeze_panes = f"B{sheet.max_row + 1}"
    # The pace is judged on the month's last day, or today for the month under way.
    as_of = min(report.last, today)
    for figure in REPORT_FIGURES:
        current = report.total.cumulative(figure)
        target = report.targets.get(figure.target) if figure.target else None
        row = [str(figure.label), report.total.in_month(figure), current, target]
        if target is not None and current is not None:
            result = progress(
                figure=figure.target,
                current=current,
                at_year_start=report.total.at_year_start(figure),
                year=report.year,
                today=as_of,
                target=target,
            )
            on_pace = {True: _("Yes"), False: _("No"), None: ""}[result.on_pace]
            row += [result.share, result.projected, on_pace]
        sheet.append(row)
        sheet.cell(row=sheet.max_row, column=5).number_format = PERCENT
    sheet.append([])
    for note in (
        _(
            "Cumulative: from 1 January for visits, return visits, residents helped, "
            "sessions, attendees and course completions; since the campaign began for "
            "households reached, active teams, members and members on the Zalo OA (their "
            "level at the month's end, and in the month their net change)."
        ),
        _("Officials trained: distinct people trained in the year so far."),
    ):
        sheet.append([note])
    _widths(sheet, 34, 18)


def _commune_header() -> list[str]:
    header = [_("Code"), _("Commune"), _("Households")]
    for figure in REPORT_FIGURES:
        if figure.kind != YEARLY:
            header.append(_("%(figure)s: in the month") % {"figure": figure.label})
        header.append(_("%(figure)s: cumulative") % {"figure": figure.label})
    header.append(_("Coverage"))
    return header


def _commune_row(code, name, households, figures: PlaceFigures, keys=None) -> list:
    """A row of the Communes sheet; with `keys`, only those figures are filled."""
    row = [code, neutralise(name), households]
    for figure in REPORT_FIGURES:
        shown = keys is None or figure.key in keys
        if figure.kind != YEARLY:
            row.append(figures.in_month(figure) if shown else None)
        row.append(figures.cumulative(figure) if shown else None)
    reached = figures.sums["households_reached:all"]
    row.append(reached / households if households else None)
    return row


def _communes(workbook, report: DistrictMonth) -> None:
    sheet = workbook.create_sheet(pgettext("list heading", "Communes")[:31])
    header = _commune_header()
    _bold_row(sheet, header)
    sheet.freeze_panes = "C2"
    for commune, figures in report.communes:
        sheet.append(_commune_row(commune.code, commune.name, commune.households, figures))
    # What the district held or completed itself belongs to no commune: a row of its own
    # makes the rows add up to the total, as on the district's page (and, as there, none
    # when there is nothing to show). Only trainings happen at district level: the other
    # columns stay empty, not zero.
    if any(report.district_level.sums.values()):
        sheet.append(
            _commune_row(
                None,
                _("District level, not in any commune"),
                None,
                report.district_level,
                keys=TRAINING_DAY_SUMS,
            )
        )
    _bold_row(
        sheet,
        _commune_row(report.district.code, report.district.name, report.households, report.total),
    )
    coverage = get_column_letter(len(header))
    for cell in sheet[coverage][1:]:
        cell.number_format = PERCENT
    _widths(sheet, 10, 16)
    sheet.column_dimensions["B"].width = 28


def _services(workbook, report: DistrictMonth) -> None:
    sheet = workbook.create_sheet(_("Services")[:31])
    _bold_row(sheet, [_("Service"), _("Visits in the month"), _("Visits from 1 January")])
    for service, in_month, in_year in report.services:
        sheet.append([neutralise(str(service)), in_month, in_year])
    sheet.append([])
    sheet.append([_("A visit may help with several services.")])
    _widths(sheet, 48, 20)


def _trainings(workbook, report: DistrictMonth) -> None:
    sheet = workbook.create_sheet(_("Trainings")[:31])
    figures = [f for f in REPORT_FIGURES if f.key in TRAINING_DAY_SUMS]
    _bold_row(
        sheet,
        [
            _("Audience"),
            *(_("%(figure)s: in the month") % {"figure": f.label} for f in figures),
            *(_("%(figure)s: from 1 January") % {"figure": f.label} for f in figures),
        ],
    )
    total = Counter()
    for audience in Audience:
        counts = report.audiences.get(audience.value, Counter())
        total.update(counts)
        sheet.append(
            [
                str(audience.label),
                *(counts[f"{f.key}:month"] for f in figures),
                *(counts[f"{f.key}:year"] for f in figures),
            ]
        )
    _bold_row(
        sheet,
        [
            _("All audiences"),
            *(total[f"{f.key}:month"] for f in figures),
            *(total[f"{f.key}:year"] for f in figures),
        ],
    )
    _widths(sheet, 36, 18)


def district_month_workbook(report: DistrictMonth, *, today: dt.date) -> bytes:
    """The report as XLSX, its headers in the active language."""
    workbook = openpyxl.Workbook()
    _summary(workbook, report, today)
    _communes(workbook, report)
    _services(workbook, report)
    _trainings(workbook, report)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
