"""Reads of the dashboard pages: the figures of the province, a district, a commune, a team.

Every figure comes from the summary tables the roll-up fills (models.py) and the units'
own attributes, never from the raw visits, members or attendances. Each read groups one
summary table in SQL (by commune at most: a few hundred rows), and Python only adds up
those grouped rows, so a page makes the same few queries whatever the number of visits.

Stock figures are sums of day changes: a level on a date is the sum up to it. One query
per table asks for each sum at three marks with conditional aggregates: at the period's
end, before its start, and before the start of the end's year (for the pace towards the
year's target).

A page's figures (never its HTML, which carries a CSRF token) are cached per roll-up
version, scope, filters and language. The version comes from `rollup_state()`, so a new
roll-up changes every key and no figure outlives the data it was computed from.
"""

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    DateField,
    F,
    Field,
    Func,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import JSONObject, TruncMonth
from django.http import Http404
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.scopes import scope_for
from communes.models import Commune, District, Hamlet, VietnameseOrder
from outreach.catalogue import SERVICE_LABELS
from outreach.models import Household, Service, Team
from trainings.models import Audience, Level

from ..models import (
    CommuneDay,
    CommuneDayService,
    CommuneMonth,
    CommuneMonthService,
    CommuneReadiness,
    DistrictDay,
    DistrictDayService,
    Figure,
    HamletDay,
    TeamDay,
    TeamTotal,
    TrainingDay,
    TrainingYear,
)
from ..targets import progress, targets_for
from .periods import Period
from .units import (
    CommuneUnit,
    DistrictUnit,
    Snapshot,
    TeamUnit,
    Units,
    figures_cached,
    province_for,
    reaches,
    sees_province,
    version_cached,
)

# Figures that are levels (a sum of changes since the start); the others are counted
# again each year, as their targets are.
LEVEL_FIGURES = (Figure.TEAMS, Figure.MEMBERS, Figure.ZALO_MEMBERS, Figure.HOUSEHOLDS_REACHED)
LOWEST_SHOWN = 10
# The province's page shows the ranking's ends: this many at the top, LOWEST_SHOWN at the
# bottom; the whole ranking is on the communes' page and in the export.
HIGHEST_SHOWN = 10
PRIORITY_STATUSES = (Commune.NewRuralStatus.ADVANCED, Commune.NewRuralStatus.MODEL)
# The levels a commune's day rows keep as running totals (CommuneDay.RUNNING_TOTALS,
# each `<name>_total`): teams, members, households first reached...
STOCKS = ("teams", "members", "zalo_members", "households_reached", "residents_helped", "visits")
TRAINING_STOCKS: dict[str, Any] = {
    "sessions_held": F("sessions_held"),
    "attendees": F("attendees"),
    "course_completions": F("course_completions"),
}
# A session held by a district belongs to none of its communes, one held by the province
# to none of its districts: a table of communes or districts shows them as a row of
# their own, so that its rows add up to its total, the place's figure on every page.
ABOVE_LABELS = {
    Level.DISTRICT: _("District level, not in any commune"),
    Level.PROVINCE: _("Province level, not in any district"),
}


# --- What the pages show -----------------------------------------------------------------


@dataclass
class Tile:
    """One headline figure: its level at the period's end and its change over the period,
    with the year's target and whether the pace reaches it."""

    figure: str
    label: str
    value: int
    change: int | None
    note: str = ""
    target: int | None = None
    percent: float | None = None
    projected: int | None = None
    on_pace: bool | None = None
    # The target is the households on record, not a Target record.
    target_on_record: bool = False


@dataclass
class AreaRow:
    """A district or commune in a table: its levels at the period's end, its work in it."""

    code: int
    name: str
    district_name: str = ""
    teams: int = 0
    members: int = 0
    zalo_members: int = 0
    households_reached: int = 0
    households: int | None = None
    # Households reached in the communes whose household count is known: the coverage's
    # numerator, so that a commune without a count does not inflate it.
    households_reached_counted: int = 0
    visits: int = 0
    residents_helped: int = 0
    sessions_held: int = 0
    attendees: int = 0
    new_rural_status: str = ""
    rank: int | None = None
    lowest: bool = False
    # Set on the row of what was held at that level (Level), above the table's units: it
    # has sessions and attendees only, and no page of its own.
    level: str = ""

    @property
    def coverage(self) -> float | None:
        """Households reached as a percentage of the households on record."""
        if not self.households:
            return None
        return 100 * self.households_reached_counted / self.households

    def add(self, other: "AreaRow") -> None:
        for name in (
            "teams",
            "members",
            "zalo_members",
            "households_reached",
            "households_reached_counted",
            "visits",
            "residents_helped",
            "sessions_held",
            "attendees",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.households is not None:
            self.households = (self.households or 0) + other.households


@dataclass
class TrendRow:
    month: date
    label: str
    visits: int
    households_first: int


@dataclass
class ServiceRow:
    code: str
    label: str
    visits: int


@dataclass
class ReadinessRow:
    item: str
    label: str
    households_yes: int
    households_answered: int

    @property
    def percent(self) -> float | None:
        if not self.households_answered:
            return None
        return 100 * self.households_yes / self.households_answered


@dataclass
class AudienceRow:
    audience: str
    label: str
    sessions_held: int
    attendees: int
    course_completions: int


@dataclass
class HamletRow:
    id: int
    name: str
    households_reached: int
    visits: int
    households_first: int
    residents_helped: int


@dataclass
class TeamRow:
    id: int
    name: str
    active: bool
    visits: int
    residents_helped: int
    visits_total: int
    households_reached: int
    last_visited_on: date | None


@dataclass
class Figures:
    """Everything a dashboard page shows, computed once and cached."""

    tiles: list[Tile] = field(default_factory=list)
    districts: list[AreaRow] = field(default_factory=list)
    # The province's own sessions, in no district (shown only when there are some).
    districts_above: list[AreaRow] = field(default_factory=list)
    # The total of the districts and of the row above them.
    districts_total: AreaRow | None = None
    communes: list[AreaRow] = field(default_factory=list)
    # The districts' own sessions, and the province's on the province's list.
    communes_above: list[AreaRow] = field(default_factory=list)
    communes_total: AreaRow | None = None
    ranking: list[AreaRow] = field(default_factory=list)
    unranked: list[AreaRow] = field(default_factory=list)
    priority: list[AreaRow] = field(default_factory=list)
    trend: list[TrendRow] = field(default_factory=list)
    services: list[ServiceRow] = field(default_factory=list)
    readiness: list[ReadinessRow] = field(default_factory=list)
    audiences: list[AudienceRow] = field(default_factory=list)
    hamlets: list[HamletRow] = field(default_factory=list)
    teams: list[TeamRow] = field(default_factory=list)
    team: dict[str, Any] = field(default_factory=dict)
    # What the trend's second series counts, where it is not first visits (a team's).
    trend_households_label: str = ""

    @property
    def ranking_top(self) -> list[AreaRow]:
        """The best covered communes a page shows of the ranking: all of them when the
        ranking is no longer than its two ends."""
        if len(self.ranking) <= HIGHEST_SHOWN + LOWEST_SHOWN:
            return self.ranking
        return self.ranking[:HIGHEST_SHOWN]

    @property
    def ranking_bottom(self) -> list[AreaRow]:
        """The least covered communes (the flagged ones), when not already at the top."""
        if len(self.ranking) <= HIGHEST_SHOWN + LOWEST_SHOWN:
            return []
        return self.ranking[-LOWEST_SHOWN:]

    @property
    def ranking_between(self) -> int:
        """How many ranked communes lie between the top and the bottom shown."""
        return len(self.ranking) - len(self.ranking_top) - len(self.ranking_bottom)

    @property
    def ranking_all(self) -> list[AreaRow]:
        """Every commune: the ranked ones, then those without a household count."""
        return [*self.ranking, *self.unranked]

    @property
    def trend_chart(self) -> dict:
        return {
            "labels": [row.label for row in self.trend],
            "series": [
                {"label": str(_("Visits")), "values": [row.visits for row in self.trend]},
                {
                    "label": self.trend_households_label
                    or str(_("Households reached for the first time")),
                    "values": [row.households_first for row in self.trend],
                },
            ],
        }

    @property
    def services_chart(self) -> dict:
        return {
            "labels": [row.label for row in self.services],
            "series": [{"label": str(_("Visits")), "values": [r.visits for r in self.services]}],
        }


# --- The reads, one grouped query each ---------------------------------------------------


def _marked_sums(stocks: dict[str, Any], period: Period) -> dict[str, Sum]:
    """Sums of each stock at the period's end (the query stops there), before its start
    and before its year's start: the last two are one when the period starts the year
    (the default), which spares the query a third of its work."""
    marks = {"before": period.start}
    if period.year_start != period.start:
        marks["year"] = period.year_start
    sums = {}
    for name, expression in stocks.items():
        sums[f"{name}__end"] = Sum(expression, output_field=IntegerField())
        for mark, day in marks.items():
            sums[f"{name}__{mark}"] = Sum(
                expression, filter=Q(day__lt=day), output_field=IntegerField()
            )
    return sums


@dataclass
class Marks:
    """A stock's sum at the period's end, before it, and before the year's start."""

    end: int = 0
    before: int = 0
    year: int = 0

    @property
    def change(self) -> int:
        return self.end - self.before

    def add(self, other: "Marks") -> None:
        self.end += other.end
        self.before += other.before
        self.year += other.year


def _split_months(period: Period) -> set[date]:
    """The months a period's marks cut (its start, its year's start, the day after its
    end): their figures come from the day rows, every other month's from the month
    rows, whose days all fall on one side of every mark. A period of whole months (this
    year, quarter or month up to the end of a month) cuts none."""
    marks = (period.start, period.year_start, period.end + timedelta(days=1))
    return {mark.replace(day=1) for mark in marks if mark.day != 1}


def _days_and_months(day_table, month_table, place: Q, period: Period, start: date | None):
    """The day rows and month rows that together cover the days from `start` (None:
    the beginning) to the period's end once, each row with its `day` (a month row's is
    its first day), to group and sum alike and add up as one (a UNION ALL)."""
    cut = _split_months(period)
    months = month_table.objects.filter(place, month__lte=period.end).exclude(month__in=cut)
    days = day_table.objects.filter(place, day__lte=period.end)
    if start is not None:
        months = months.filter(month__gte=start.replace(day=1))
        days = days.filter(day__gte=start)
    # Each cut month as a range of days, which the (place, day) indexes answer; the
    # month of a day (`cut`) only groups a trend's rows.
    # Each clamped to the days asked for, so that the index condition is the few days
    # kept, not the whole period with the cut months filtered out of it.
    in_cut = Q()
    for month in cut:
        first = max(month, start) if start is not None else month
        last = min(_next_month(month) - timedelta(days=1), period.end)
        if first <= last:
            in_cut |= Q(day__gte=first, day__lte=last)
    days = day_table.objects.filter(place, in_cut) if in_cut else days.none()
    days = days.annotate(cut=TruncMonth("day", output_field=DateField()))
    return days.order_by(), months.annotate(day=F("month")).order_by()


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _union_sums(days: QuerySet, months: QuerySet, keys: list[str], sums: dict) -> list[dict]:
    """Both parts grouped by the keys with the sums, read in one query, added up."""
    parts = [qs.values(*keys).annotate(**sums).values(*keys, *sums) for qs in (days, months)]
    added: dict[tuple, dict] = {}
    for row in parts[0].union(parts[1], all=True):
        key = tuple(row[k] for k in keys)
        if key not in added:
            added[key] = dict(row)
            continue
        for name in sums:
            added[key][name] = (added[key][name] or 0) + (row[name] or 0)
    return list(added.values())


class _Totals(Func):
    """A row's running totals as one value, in STOCKS' order: an integer array on
    PostgreSQL, which psycopg2 reads in C (as JSON, Django decodes 678 objects a province
    page, a sixth of its figures' Python), a JSON array text elsewhere (SQLite)."""

    template = "ARRAY[%(expressions)s]"
    output_field = Field()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="JSON_ARRAY(%(expressions)s)", **extra)


def _levels_before(day: date) -> Subquery:
    """A commune's running totals at the end of its last day row before `day` (None:
    no row yet): one row read on the (commune, day) index, whatever the history."""
    last = (
        CommuneDay.objects.filter(commune_id=OuterRef("pk"), day__lt=day)
        .order_by("-day")
        .values(levels=_Totals(*(F(f"{name}_total") for name in STOCKS)))[:1]
    )
    return Subquery(last, output_field=Field())


def _levels(value: list[int] | str | None) -> list[int]:
    if value is None:
        return [0] * len(STOCKS)
    return json.loads(value) if isinstance(value, str) else value


def _commune_days(place: "Place", period: Period) -> dict[int, dict[str, Marks]]:
    """Each commune's stocks at the three marks: its levels at the period's end, before
    its start and before its year's start (one query, three rows read per commune)."""
    marks = {"end": period.end + timedelta(days=1), "before": period.start}
    if period.year_start != period.start:
        marks["year"] = period.year_start
    rows = (
        Commune.objects.filter(pk__in=[c.id for c in place.communes])
        .order_by()
        .values_list("pk", *(_levels_before(day) for day in marks.values()))
    )
    days = {}
    for pk, end, before, *year in rows:
        end, before = _levels(end), _levels(before)
        year = _levels(year[0]) if year else before
        days[pk] = {name: Marks(end[i], before[i], year[i]) for i, name in enumerate(STOCKS)}
    return days


@dataclass
class TrainingCell:
    level: str
    district_id: int | None
    commune_id: int | None
    marks: dict[str, Marks]
    # The district's own sessions in the period by audience (its page's table), on the
    # district's cell of a district's read.
    audiences: dict[str, dict[str, int]] = field(default_factory=dict)


def _training_days(place: Q, period: Period, *, by_audience: bool = False) -> list[TrainingCell]:
    """Sessions, attendees and completions per level and place (one query); with
    `by_audience`, each cell's figures by audience too (a district's page shows its own
    sessions so).

    Training figures are counts a page shows over the period or the year so far, never
    as levels: only the differences between the marks matter, so the rows before the
    earlier of the period's start and its year's are not read (each mark leaves out
    the same sum)."""
    keys = ["level", "district_id", "commune_id", *(["audience"] if by_audience else [])]
    sums = _marked_sums(TRAINING_STOCKS, period)
    # Tuples, not dicts: each stock's sums come in _marked_sums' order (end, before, and
    # the year's start when it is another mark), `width` of them.
    width = len(sums) // len(TRAINING_STOCKS)
    rows = (
        TrainingDay.objects.filter(
            place, day__gte=min(period.start, period.year_start), day__lte=period.end
        )
        .order_by()
        .values(*keys)
        .annotate(**sums)
        .values_list(*keys, *sums)
    )
    cells: dict[tuple, TrainingCell] = {}
    for row in rows:
        key = row[:3]
        values = [value or 0 for value in row[len(keys) :]]
        marks = {}
        for i, name in enumerate(TRAINING_STOCKS):
            end, before, *year = values[i * width : (i + 1) * width]
            marks[name] = Marks(end, before, year[0] if year else before)
        cell = cells.get(key)
        if cell is None:
            cells[key] = cell = TrainingCell(*key, marks)
        else:
            for name, mark in marks.items():
                cell.marks[name].add(mark)
        if by_audience:
            cell.audiences[row[3]] = {name: mark.change for name, mark in marks.items()}
    return list(cells.values())


def _officials_trained(place: Q, year: int) -> int:
    """Distinct officials trained in the year: a yearly count that does not add up over
    days, read from the place's own row."""
    total = TrainingYear.objects.filter(place, year=year).aggregate(n=Sum("officials_trained"))
    return total["n"] or 0


def _trend(table, place: Q, period: Period, sums: dict[str, Any]) -> list[TrendRow]:
    """Monthly sums from `table` over the months a trend shows (one query)."""
    months = period.months()
    rows = (
        table.objects.filter(place, day__gte=months[0], day__lte=period.end)
        .annotate(month=TruncMonth("day"))
        .order_by()
        .values("month")
        .annotate(**sums)
    )
    return _trend_rows(months, {row["month"]: row for row in rows})


def _trend_rows(months: list[date], by_month: dict[date, dict]) -> list[TrendRow]:
    trend = []
    for month in months:
        row = by_month.get(month, {})
        trend.append(
            TrendRow(
                month,
                formats.date_format(month, "YEAR_MONTH_FORMAT"),
                row.get("visits") or 0,
                row.get("households_first") or 0,
            )
        )
    return trend


def _commune_trend(place: "Place", period: Period) -> list[TrendRow]:
    """Monthly visits and first visits over the trend's months (one query): a province's
    or district's from its districts' running totals at the months' edges; a commune's
    from its month rows but for a month the period's end cuts."""
    months = period.months()
    if place.districts:
        return _trend_rows(months, _district_trend(place.districts, months, period))
    days, whole = _days_and_months(CommuneDay, CommuneMonth, place.days, period, months[0])
    sums = {"visits": Sum("visits"), "households_first": Sum("households_first")}
    rows = _union_sums(
        days.annotate(trend_month=F("cut")),
        whole.annotate(trend_month=F("month")),
        ["trend_month"],
        sums,
    )
    return _trend_rows(months, {row["trend_month"]: row for row in rows})


TREND_TOTALS = {"visits": "visits_total", "households_first": "households_first_total"}


def _district_trend(districts: Iterable[int], months: list[date], period: Period) -> dict:
    """Month -> its visits and first visits in the districts: each district's running
    totals before the month's first day and before the next month's (the day after the
    period's end for the last month), summed over the districts in the database."""
    districts = list(districts)
    if not districts:
        return {}
    edges = [*months, period.end + timedelta(days=1)]
    quote = connection.ops.quote_name
    table = quote(DistrictDay._meta.db_table)
    columns, params = [], []
    for index, edge in enumerate(edges):
        for figure, total in TREND_TOTALS.items():
            columns.append(
                f"SUM(COALESCE((SELECT t.{quote(total)} FROM {table} t "  # noqa: S608
                f"WHERE t.district_id = d.id AND t.day < %s ORDER BY t.day DESC LIMIT 1), 0)) "
                f"AS {figure}_{index}"
            )
            params.append(edge)
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(District._meta.db_table)} d "  # noqa: S608
        f"WHERE d.id IN ({', '.join(['%s'] * len(districts))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *districts])
        levels = cursor.fetchone()
    width = len(TREND_TOTALS)
    at = [levels[i * width : (i + 1) * width] for i in range(len(edges))]
    return {
        month: {
            figure: (at[i + 1][j] or 0) - (at[i][j] or 0) for j, figure in enumerate(TREND_TOTALS)
        }
        for i, month in enumerate(months)
    }


def _services(units: Units, place: "Place", period: Period) -> list[ServiceRow]:
    """Visits by service in the period (one query)."""
    if place.districts:
        visits = _district_services(units, place.districts, period)
    else:
        days, months = _days_and_months(
            CommuneDayService, CommuneMonthService, place.days, period, period.start
        )
        rows = _union_sums(days, months, ["service_id"], {"visits": Sum("visits")})
        visits = {row["service_id"]: row["visits"] or 0 for row in rows}
    return [
        ServiceRow(s.code, str(SERVICE_LABELS.get(s.code, s.name)), visits.get(s.id, 0))
        for s in units.services
    ]


def _district_services(units: Units, districts: Iterable[int], period: Period) -> dict[int, int]:
    """Service -> visits in the period in the districts: for each district and service,
    its running total at the period's end less the one before its start, two rows read
    on the (district, service, day) index whatever the period's length and the history.
    In SQL of its own: the ORM spent longer building the forty subqueries of a province
    than the database spent answering them."""
    districts, services = list(districts), [s.id for s in units.services]
    if not districts or not services:
        return {}
    quote = connection.ops.quote_name
    table = quote(DistrictDayService._meta.db_table)

    def level(before: str) -> str:
        return (
            f"COALESCE((SELECT t.visits_total FROM {table} t WHERE t.district_id = d.id "  # noqa: S608
            f"AND t.service_id = s.id AND t.day < {before} ORDER BY t.day DESC LIMIT 1), 0)"
        )

    def among(values: list[int]) -> str:
        return ", ".join(["%s"] * len(values))

    sql = f"""
        SELECT s.id, SUM({level("%s")} - {level("%s")})
        FROM {quote(District._meta.db_table)} d CROSS JOIN {quote(Service._meta.db_table)} s
        WHERE d.id IN ({among(districts)}) AND s.id IN ({among(services)})
        GROUP BY s.id
    """  # noqa: S608 - names from the models, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [period.end + timedelta(days=1), period.start, *districts, *services])
        return dict(cursor.fetchall())


def _readiness_sums(place: Q) -> dict[str, tuple[int, int]]:
    """Item -> (households with it, households asked), as they stand now (one query)."""
    rows = (
        CommuneReadiness.objects.filter(place)
        .order_by()
        .values("item")
        .annotate(yes=Sum("households_yes"), answered=Sum("households_answered"))
    )
    return {row["item"]: (row["yes"] or 0, row["answered"] or 0) for row in rows}


def _readiness(sums: dict[str, tuple[int, int]]) -> list[ReadinessRow]:
    result = []
    for item in CommuneReadiness.ITEMS:
        yes, answered = sums.get(item, (0, 0))
        label = capfirst(str(Household._meta.get_field(item).verbose_name))
        result.append(ReadinessRow(item, label, yes, answered))
    return result


# --- Putting the figures together -------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a page's figures are read: its communes and the filter of each table."""

    # Names the place in cache keys.
    key: str
    communes: list[CommuneUnit]
    # CommuneDay, CommuneDayService and CommuneReadiness all carry commune and district.
    days: Q
    training: Q
    year: Q
    targets: dict[str, int]
    # A province's or a district's: its services are read from the districts' rows.
    districts: tuple[int, ...] = ()


def province_place(units: Units, province_id: int) -> Place:
    district_ids = [d.id for d in units.districts_of(province_id)]
    return Place(
        key=f"province:{province_id}",
        communes=units.communes_of(district_ids),
        days=Q(district_id__in=district_ids),
        # Province-level sessions and completions belong to no district.
        training=Q(district__isnull=True, commune__isnull=True) | Q(district_id__in=district_ids),
        year=Q(district__isnull=True, commune__isnull=True),
        targets={},
        districts=tuple(district_ids),
    )


def district_place(units: Units, district: DistrictUnit) -> Place:
    # A commune's training rows carry its district, so this takes in both levels.
    return Place(
        key=f"district:{district.id}",
        communes=units.communes_of([district.id]),
        days=Q(district_id=district.id),
        training=Q(district_id=district.id),
        year=Q(district_id=district.id, commune__isnull=True),
        targets={"district_id": district.id},
        districts=(district.id,),
    )


def commune_place(commune: CommuneUnit) -> Place:
    return Place(
        key=f"commune:{commune.id}",
        communes=[commune],
        days=Q(commune_id=commune.id),
        training=Q(commune_id=commune.id),
        year=Q(commune_id=commune.id),
        targets={"commune_id": commune.id},
    )


@dataclass(frozen=True)
class PlaceYear:
    """What a place's page shows that its period changes through its year at most: the
    officials trained in the year, the year's targets, the readiness as it stands."""

    officials_trained: int
    targets: dict[str, int]
    readiness: dict[str, tuple[int, int]]


def _place_year(snap: Snapshot, place: Place, year: int) -> PlaceYear:
    """A place's year, read in three queries once per roll-up version (and at most an
    hour, like the figures: a target edited shows with the next roll-up), so that a page
    asked for another period of the same year reads none of them again."""

    def load() -> PlaceYear:
        return PlaceYear(
            officials_trained=_officials_trained(place.year, year),
            targets=targets_for(year, **place.targets),
            readiness=_readiness_sums(place.days),
        )

    return version_cached(snap, f"year:{place.key}:{year}", load)


def _commune_sessions(cells: Iterable[TrainingCell]) -> dict[int, dict[str, Marks]]:
    return {
        cell.commune_id: cell.marks
        for cell in cells
        if cell.level == Level.COMMUNE and cell.commune_id is not None
    }


def _commune_row(
    commune: CommuneUnit,
    units: Units,
    days: dict[int, dict[str, Marks]],
    sessions: dict[int, dict[str, Marks]],
    statuses: dict[str, str],
) -> AreaRow:
    marks = days.get(commune.id) or {name: Marks() for name in STOCKS}
    training = sessions.get(commune.id) or {name: Marks() for name in TRAINING_STOCKS}
    reached = marks["households_reached"].end
    return AreaRow(
        code=commune.code,
        name=commune.name,
        district_name=units.district_by_id[commune.district_id].name,
        teams=marks["teams"].end,
        members=marks["members"].end,
        zalo_members=marks["zalo_members"].end,
        households_reached=reached,
        households=commune.households,
        households_reached_counted=reached if commune.households is not None else 0,
        visits=marks["visits"].change,
        residents_helped=marks["residents_helped"].change,
        sessions_held=training["sessions_held"].change,
        attendees=training["attendees"].change,
        new_rural_status=statuses.get(commune.new_rural_status, ""),
    )


def _status_labels() -> dict[str, str]:
    """The new-rural statuses' labels in the current language, for _commune_row."""
    return {value: str(label) for value, label in Commune.NewRuralStatus.choices}


def _total_row(rows: Iterable[AreaRow]) -> AreaRow:
    total = AreaRow(code=0, name=str(_("Total")))
    for row in rows:
        total.add(row)
    return total


def _sum_marks(parts: Iterable[dict[str, Marks]], names: Iterable[str]) -> dict[str, Marks]:
    total = {name: Marks() for name in names}
    for part in parts:
        for name, marks in part.items():
            total[name].add(marks)
    return total


def _rank(rows: list[AreaRow]) -> tuple[list[AreaRow], list[AreaRow]]:
    """The communes with a household count, best coverage first, the lowest flagged;
    and those without a count, which cannot be ranked."""
    counted = sorted(
        (row for row in rows if row.coverage is not None), key=lambda row: (-row.coverage, row.name)
    )
    for position, row in enumerate(counted, start=1):
        row.rank = position
        # Flagging half the communes of a small district would single out nobody.
        row.lowest = len(counted) > LOWEST_SHOWN and position > len(counted) - LOWEST_SHOWN
    return counted, [row for row in rows if row.coverage is None]


def _tiles(
    *,
    period: Period,
    stocks: dict[str, Marks],
    training: dict[str, Marks],
    officials_trained: int,
    households: int | None,
    targets: dict[str, int],
) -> list[Tile]:
    """The headline figures, each against its target for the period's year.

    A level (teams, members, households reached) is shown at the period's end; a count
    that starts again each year (residents helped, sessions...) is the year's count up
    to the period's end, which is what its yearly target measures.
    """
    today = timezone.localdate()
    figures = [
        (Figure.TEAMS, stocks["teams"]),
        (Figure.MEMBERS, stocks["members"]),
        (Figure.ZALO_MEMBERS, stocks["zalo_members"]),
        (Figure.HOUSEHOLDS_REACHED, stocks["households_reached"]),
        (Figure.RESIDENTS_HELPED, stocks["residents_helped"]),
        (Figure.OFFICIALS_TRAINED, Marks(officials_trained, officials_trained, 0)),
        (Figure.SESSIONS_HELD, training["sessions_held"]),
        (Figure.COURSE_COMPLETIONS, training["course_completions"]),
    ]
    in_year = _("in %(year)s") % {"year": period.year}
    tiles = []
    for figure, marks in figures:
        target = targets.get(figure)
        on_record = False
        if target is None and figure == Figure.HOUSEHOLDS_REACHED and households:
            # A district or commune without a target aims at every household on record.
            target, on_record = households, True
        level = figure in LEVEL_FIGURES
        current = marks.end if level else marks.end - marks.year
        result = progress(
            figure=figure,
            current=current,
            at_year_start=marks.year if level else 0,
            year=period.year,
            today=today,
            target=target,
        )
        tiles.append(
            Tile(
                figure=str(figure),
                label=str(Figure(figure).label),
                value=current,
                # A yearly count of distinct people has no change over an arbitrary period.
                change=None if figure == Figure.OFFICIALS_TRAINED else marks.change,
                note="" if level else str(in_year),
                target=result.target,
                percent=None if result.share is None else 100 * result.share,
                projected=result.projected,
                on_pace=result.on_pace,
                target_on_record=on_record,
            )
        )
    return tiles


def _area(
    units: Units,
    place: Place,
    period: Period,
    *,
    days: dict[int, dict[str, Marks]],
    cells: list[TrainingCell],
    year: PlaceYear,
) -> tuple[list[Tile], list[AreaRow]]:
    """A place's tiles and its communes' rows, from rows already read."""
    sessions = _commune_sessions(cells)
    statuses = _status_labels()
    rows = [_commune_row(c, units, days, sessions, statuses) for c in place.communes]
    known = [c.households for c in place.communes if c.households is not None]
    tiles = _tiles(
        period=period,
        stocks=_sum_marks((days[c.id] for c in place.communes if c.id in days), STOCKS),
        training=_sum_marks((cell.marks for cell in cells), TRAINING_STOCKS),
        officials_trained=year.officials_trained,
        households=sum(known) if known else None,
        targets=year.targets,
    )
    return tiles, rows


def _district_rows(
    units: Units, districts: list[DistrictUnit], communes: list[AreaRow], cells: list[TrainingCell]
) -> list[AreaRow]:
    """The districts' rows: their communes' sums, and the sessions held in the district
    (its own and its communes')."""
    by_id = {d.id: AreaRow(code=d.code, name=d.name) for d in districts}
    district_of = {c.code: c.district_id for c in units.communes}
    for row in communes:
        by_id[district_of[row.code]].add(row)
    for row in by_id.values():
        row.sessions_held = row.attendees = 0
    for cell in cells:
        if cell.district_id in by_id:
            by_id[cell.district_id].sessions_held += cell.marks["sessions_held"].change
            by_id[cell.district_id].attendees += cell.marks["attendees"].change
    return list(by_id.values())


def _rows_above(cells: Iterable[TrainingCell], levels: Iterable[str]) -> list[AreaRow]:
    """A row for each of `levels` of the training rows kept at that level (a district's
    own sessions, the province's): only for a level with sessions or attendees in the
    period, since a row of zeros says nothing."""
    cells = list(cells)
    rows = []
    for level in levels:
        row = AreaRow(code=0, name=str(ABOVE_LABELS[level]), level=level)
        for cell in cells:
            if cell.level == level:
                row.sessions_held += cell.marks["sessions_held"].change
                row.attendees += cell.marks["attendees"].change
        if row.sessions_held or row.attendees:
            rows.append(row)
    return rows


def _priority(communes: list[CommuneUnit], rows: list[AreaRow]) -> list[AreaRow]:
    """The communes building advanced or model new-rural status, with their rows."""
    codes = {c.code for c in communes if c.new_rural_status in PRIORITY_STATUSES}
    return [row for row in rows if row.code in codes]


def _with_communes(
    figures: Figures,
    units: Units,
    place: Place,
    period: Period,
    rows: list[AreaRow],
    year: PlaceYear,
    cells: list[TrainingCell],
) -> Figures:
    """The tables of a province or district: communes (with the sessions held above
    them), ranking, priority communes, trend, services and readiness (two more
    queries)."""
    figures.communes = rows
    figures.communes_above = _rows_above(cells, (Level.DISTRICT, Level.PROVINCE))
    figures.communes_total = _total_row([*rows, *figures.communes_above])
    # The ranking flags rows: rank copies, so the communes table stays unflagged.
    figures.ranking, figures.unranked = _rank([copy.copy(row) for row in rows])
    figures.priority = _priority(place.communes, rows)
    figures.trend = _commune_trend(place, period)
    figures.services = _services(units, place, period)
    figures.readiness = _readiness(year.readiness)
    return figures


def overview_figures(
    user: User,
    snap: Snapshot,
    period: Period,
    *,
    district: DistrictUnit | None = None,
    tiles_only: bool = False,
) -> Figures:
    """The province's overview: tiles, the districts table and the province's tables, or
    with a district chosen, the districts table and every other figure for that district.
    District staff get the province's tiles only."""
    units = snap.units
    province_id = province_for(user, units)
    if province_id is None or (district is not None and not reaches(scope_for(user), district)):
        raise Http404
    if not sees_province(user):
        # District staff: the province's totals, never its tables.
        tiles_only, district = True, None

    def compute() -> Figures:
        province = province_place(units, province_id)
        # The districts table needs every commune whatever the focus: read them once.
        days = _commune_days(province, period)
        cells = _training_days(province.training, period)
        if tiles_only:
            year = _place_year(snap, province, period.year)
            tiles, _rows = _area(units, province, period, days=days, cells=cells, year=year)
            return Figures(tiles=tiles)
        if district is None:
            focus, focus_cells = province, cells
        else:
            focus = district_place(units, district)
            focus_cells = [cell for cell in cells if cell.district_id == district.id]
        year = _place_year(snap, focus, period.year)
        tiles, rows = _area(units, focus, period, days=days, cells=focus_cells, year=year)
        figures = _with_communes(
            Figures(tiles=tiles), units, focus, period, rows, year, focus_cells
        )
        province_rows = rows
        if district is not None:
            sessions = _commune_sessions(cells)
            statuses = _status_labels()
            province_rows = [
                _commune_row(c, units, days, sessions, statuses) for c in province.communes
            ]
        figures.districts = _district_rows(
            units, units.districts_of(province_id), province_rows, cells
        )
        figures.districts_above = _rows_above(cells, (Level.PROVINCE,))
        figures.districts_total = _total_row([*figures.districts, *figures.districts_above])
        return figures

    place_key = f"{province_id}:{district.code if district else ''}:{int(tiles_only)}"
    return figures_cached(snap, user, "overview", place_key, period, compute)


def district_figures(user: User, snap: Snapshot, district: DistrictUnit, period: Period) -> Figures:
    """A district's tiles, its communes, trend, services, readiness and own trainings."""
    units = snap.units
    if not reaches(scope_for(user), district):
        raise Http404

    def compute() -> Figures:
        place = district_place(units, district)
        days = _commune_days(place, period)
        cells = _training_days(place.training, period, by_audience=True)
        year = _place_year(snap, place, period.year)
        tiles, rows = _area(units, place, period, days=days, cells=cells, year=year)
        figures = _with_communes(Figures(tiles=tiles), units, place, period, rows, year, cells)
        figures.audiences = _district_audiences(district, cells)
        return figures

    return figures_cached(snap, user, "district", district.code, period, compute)


def _district_audiences(district: DistrictUnit, cells: list[TrainingCell]) -> list[AudienceRow]:
    """The sessions the district held itself in the period, by audience (an audience
    with none held, attended or completed in the period is left out)."""
    held = {}
    for cell in cells:
        if cell.level == Level.DISTRICT and cell.district_id == district.id:
            held = {name: sums for name, sums in cell.audiences.items() if any(sums.values())}
    return [
        AudienceRow(audience, str(label), **held[audience])
        for audience, label in Audience.choices
        if audience in held
    ]


def commune_figures(user: User, snap: Snapshot, commune: CommuneUnit, period: Period) -> Figures:
    """A commune's tiles, its hamlets and teams, trend, services and readiness."""
    units = snap.units
    if not reaches(scope_for(user), units.district_by_id[commune.district_id], commune=commune):
        raise Http404

    def compute() -> Figures:
        place = commune_place(commune)
        days = _commune_days(place, period)
        cells = _training_days(place.training, period)
        year = _place_year(snap, place, period.year)
        tiles, _rows = _area(units, place, period, days=days, cells=cells, year=year)
        return Figures(
            tiles=tiles,
            trend=_commune_trend(place, period),
            services=_services(units, place, period),
            readiness=_readiness(year.readiness),
            hamlets=_hamlets(commune, period),
            teams=_teams(commune, period),
        )

    return figures_cached(snap, user, "commune", commune.code, period, compute)


def _hamlets(commune: CommuneUnit, period: Period) -> list[HamletRow]:
    """The commune's hamlets with their sums (one query); one no longer in use only if
    it has figures."""
    in_period = Q(day__gte=period.start)
    sums = (
        HamletDay.objects.filter(
            hamlet_id=OuterRef("pk"), commune_id=commune.id, day__lte=period.end
        )
        .order_by()
        .values("hamlet_id")
        .values(
            sums=JSONObject(
                reached=Sum("households_first"),
                visits=Sum("visits", filter=in_period),
                first=Sum("households_first", filter=in_period),
                residents=Sum("residents_helped", filter=in_period),
            )
        )
    )
    hamlets = (
        Hamlet.objects.filter(commune_id=commune.id)
        .annotate(sums=Subquery(sums, output_field=JSONField()))
        .order_by(VietnameseOrder("name"), "pk")
    )
    result = []
    for hamlet_id, name, active, row in hamlets.values_list("id", "name", "is_active", "sums"):
        if row is None and not active:
            continue
        row = row or {}
        result.append(
            HamletRow(
                id=hamlet_id,
                name=name,
                households_reached=row.get("reached") or 0,
                visits=row.get("visits") or 0,
                households_first=row.get("first") or 0,
                residents_helped=row.get("residents") or 0,
            )
        )
    return result


def _teams(commune: CommuneUnit, period: Period) -> list[TeamRow]:
    """The commune's teams, active first, with their work in the period and since they
    started (one query)."""
    total = TeamTotal.objects.filter(team=OuterRef("pk"))
    in_period = (
        TeamDay.objects.filter(
            team_id=OuterRef("pk"),
            commune_id=commune.id,
            day__gte=period.start,
            day__lte=period.end,
        )
        .order_by()
        .values("team_id")
        .values(sums=JSONObject(visits=Sum("visits"), residents=Sum("residents_helped")))
    )
    teams = (
        Team.objects.filter(commune_id=commune.id)
        .annotate(
            visits_total=Subquery(total.values("visits")[:1]),
            reached=Subquery(total.values("households_reached")[:1]),
            last_visited_on=Subquery(total.values("last_visited_on")[:1]),
            done=Subquery(in_period, output_field=JSONField()),
        )
        .order_by(F("dissolved_on").desc(nulls_first=True), VietnameseOrder("name"), "pk")
        .values("id", "name", "dissolved_on", "visits_total", "reached", "last_visited_on", "done")
    )
    result = []
    for team in teams:
        done = team["done"] or {}
        result.append(
            TeamRow(
                id=team["id"],
                name=team["name"],
                active=team["dissolved_on"] is None,
                visits=done.get("visits") or 0,
                residents_helped=done.get("residents") or 0,
                visits_total=team["visits_total"] or 0,
                households_reached=team["reached"] or 0,
                last_visited_on=team["last_visited_on"],
            )
        )
    return result


def team_figures(user: User, snap: Snapshot, team: TeamUnit, period: Period) -> Figures:
    """A team's visits, households and residents helped in the period, its totals and
    last visit, and its monthly trend (three queries).

    Two household figures of the period: the households visited, counted again on each
    day they were visited (which can exceed the total since the team was founded), and
    those the team visited for the first time, which add up to that total."""
    district = snap.units.district_by_id[team.commune.district_id]
    if not reaches(scope_for(user), district, commune=team.commune, team_id=team.id):
        raise Http404

    def compute() -> Figures:
        done = TeamDay.objects.filter(
            team_id=team.id, day__gte=period.start, day__lte=period.end
        ).aggregate(
            visits=Sum("visits"),
            households=Sum("households"),
            households_new=Sum("households_new"),
            residents=Sum("residents_helped"),
        )
        total = next(
            iter(
                TeamTotal.objects.filter(team_id=team.id).values(
                    "visits", "households_reached", "last_visited_on"
                )
            ),
            {},
        )
        summary = {
            "visits": done["visits"] or 0,
            "households": done["households"] or 0,
            "households_new": done["households_new"] or 0,
            "residents_helped": done["residents"] or 0,
            "visits_total": total.get("visits") or 0,
            "households_reached": total.get("households_reached") or 0,
            "last_visited_on": total.get("last_visited_on"),
        }
        trend = _trend(
            TeamDay,
            Q(team_id=team.id),
            period,
            {"visits": Sum("visits"), "households_first": Sum("households")},
        )
        return Figures(
            team=summary,
            trend=trend,
            trend_households_label=str(_("Households visited, counted once a day")),
        )

    return figures_cached(snap, user, "team", team.id, period, compute)
