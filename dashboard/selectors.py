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

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import ScopeLevel, User
from accounts.scopes import Scope, scope_for
from communes.models import Commune, Hamlet, VietnameseOrder
from outreach.catalogue import SERVICE_LABELS
from outreach.models import Household, Service, Team
from trainings.models import Audience, Level

from .models import (
    CommuneDay,
    CommuneDayService,
    CommuneReadiness,
    Figure,
    HamletDay,
    TeamDay,
    TeamTotal,
    TrainingDay,
    TrainingYear,
)
from .rollup import rollup_state
from .targets import progress, targets_for

logger = logging.getLogger(__name__)

# Cached figures also expire on their own: a commune's household count is edited in the
# admin, not rolled up, and must show within the hour even when no roll-up runs.
CACHE_SECONDS = 60 * 60
# Figures that are levels (a sum of changes since the start); the others are counted
# again each year, as their targets are.
LEVEL_FIGURES = (Figure.TEAMS, Figure.MEMBERS, Figure.ZALO_MEMBERS, Figure.HOUSEHOLDS_REACHED)
LOWEST_SHOWN = 10
# A trend of fewer months than this says little: show the last year instead.
TREND_MIN_MONTHS = 3
TREND_DEFAULT_MONTHS = 12
TREND_MAX_MONTHS = 36
PRIORITY_STATUSES = (Commune.NewRuralStatus.ADVANCED, Commune.NewRuralStatus.MODEL)

# Day changes whose running sum is a figure: teams, members, households first reached...
STOCKS: dict[str, Any] = {
    "teams": F("teams_formed") - F("teams_dissolved"),
    "members": F("members_joined") - F("members_left"),
    "zalo_members": F("zalo_joined") - F("zalo_left"),
    "households_reached": F("households_first"),
    "residents_helped": F("residents_helped"),
    "visits": F("visits"),
}
TRAINING_STOCKS: dict[str, Any] = {
    "sessions_held": F("sessions_held"),
    "attendees": F("attendees"),
    "course_completions": F("course_completions"),
}


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


# --- The units, cached with the figures ----------------------------------------------


@dataclass(frozen=True)
class DistrictUnit:
    id: int
    code: int
    name: str
    province_id: int


@dataclass(frozen=True)
class CommuneUnit:
    id: int
    code: int
    name: str
    district_id: int
    households: int | None
    new_rural_status: str


@dataclass(frozen=True)
class ServiceUnit:
    id: int
    code: str
    name: str


@dataclass
class Units:
    """The districts, communes and services, in display order, with lookups by id and code.

    They rarely change and every page needs them, so they are read once per roll-up
    version (two queries) and cached with the figures.
    """

    districts: list[DistrictUnit]
    communes: list[CommuneUnit]
    services: list[ServiceUnit]
    district_by_id: dict[int, DistrictUnit] = field(init=False)
    district_by_code: dict[int, DistrictUnit] = field(init=False)
    commune_by_id: dict[int, CommuneUnit] = field(init=False)
    commune_by_code: dict[int, CommuneUnit] = field(init=False)

    def __post_init__(self) -> None:
        self.district_by_id = {d.id: d for d in self.districts}
        self.district_by_code = {d.code: d for d in self.districts}
        self.commune_by_id = {c.id: c for c in self.communes}
        self.commune_by_code = {c.code: c for c in self.communes}

    def districts_of(self, province_id: int) -> list[DistrictUnit]:
        return [d for d in self.districts if d.province_id == province_id]

    def communes_of(self, district_ids: Iterable[int]) -> list[CommuneUnit]:
        wanted = set(district_ids)
        return [c for c in self.communes if c.district_id in wanted]


def _units_load() -> Units:
    communes = Commune.objects.select_related("district").order_by(
        VietnameseOrder("district__name"), VietnameseOrder("name"), "code"
    )
    districts: dict[int, DistrictUnit] = {}
    commune_units = []
    for commune in communes:
        district = commune.district
        districts.setdefault(
            district.pk,
            DistrictUnit(district.pk, district.code, district.name, district.province_id),
        )
        commune_units.append(
            CommuneUnit(
                commune.pk,
                commune.code,
                commune.name,
                commune.district_id,
                commune.households,
                commune.new_rural_status,
            )
        )
    services = [
        ServiceUnit(s.pk, s.code, s.name) for s in Service.objects.order_by("sort_order", "code")
    ]
    return Units(list(districts.values()), commune_units, services)


@dataclass(frozen=True)
class Snapshot:
    """What every dashboard request starts from: the roll-up it reads, and the units."""

    version: int
    last_run_at: datetime | None
    units: Units


def snapshot() -> Snapshot:
    version, last_run_at = rollup_state()
    units = _cached(f"dashboard:{version}:units", _units_load)
    return Snapshot(version, last_run_at, units)


def _cached(key: str, compute: Callable[[], Any]) -> Any:
    """The cached value, or a fresh one; a cache that is down must not take the page."""
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("cache unavailable; computing the dashboard's figures", exc_info=True)
        value = None
    if value is None:
        value = compute()
        try:
            cache.set(key, value, CACHE_SECONDS)
        except Exception:
            logger.warning("cache unavailable; figures not cached", exc_info=True)
    return value


def _scope_key(scope: Scope) -> str:
    return ":".join(
        [
            scope.level,
            str(scope.province_id or ""),
            ",".join(map(str, sorted(scope.district_ids))),
            ",".join(map(str, sorted(scope.commune_ids))),
            ",".join(map(str, sorted(scope.team_ids))),
        ]
    )


def _figures_cached(
    snap: Snapshot, user: User, page: str, place: Any, period: Period, compute: Callable
) -> Any:
    today = timezone.localdate()
    parts = [page, str(place), period.key, get_language() or "", today.isoformat()]
    parts.append(_scope_key(scope_for(user)))
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return _cached(f"dashboard:{snap.version}:{digest}", compute)


# --- Who may open which dashboard ------------------------------------------------------


def sees_province(user: User) -> bool:
    """Whether the user sees the province's tables, not only its totals."""
    scope = scope_for(user)
    return scope.sees_everything or scope.level == ScopeLevel.PROVINCE


def province_for(user: User, units: Units) -> int | None:
    """The province whose totals the user sees: their own, or their district's."""
    scope = scope_for(user)
    if scope.level == ScopeLevel.PROVINCE:
        return scope.province_id
    if scope.sees_everything or scope.level == ScopeLevel.DISTRICT:
        districts = [
            units.district_by_id[i] for i in scope.district_ids if i in units.district_by_id
        ] or units.districts
        return districts[0].province_id if districts else None
    return None


def _reaches(
    scope: Scope,
    district: DistrictUnit,
    *,
    commune: CommuneUnit | None = None,
    team_id: int | None = None,
) -> bool:
    """Whether the scope reaches the dashboard of a district, or of a commune (give it),
    or of a team (give its id too). A commune official reaches no district's page, a team
    leader no commune's: they see their own figures."""
    if scope.sees_everything:
        return True
    if scope.level == ScopeLevel.PROVINCE:
        return district.province_id == scope.province_id
    if scope.level == ScopeLevel.DISTRICT:
        return district.id in scope.district_ids
    if scope.level == ScopeLevel.COMMUNE:
        return commune is not None and commune.id in scope.commune_ids
    if scope.level == ScopeLevel.TEAM:
        return team_id is not None and team_id in scope.team_ids
    return False


def district_in_scope(user: User, units: Units, code: int) -> DistrictUnit:
    """A district whose dashboard the user may open (provincial staff, its own staff)."""
    district = units.district_by_code.get(code)
    if district is None or not _reaches(scope_for(user), district):
        raise Http404
    return district


def commune_in_scope(user: User, units: Units, code: int) -> CommuneUnit:
    """A commune whose dashboard the user may open."""
    commune = units.commune_by_code.get(code)
    if commune is None:
        raise Http404
    district = units.district_by_id[commune.district_id]
    if not _reaches(scope_for(user), district, commune=commune):
        raise Http404
    return commune


@dataclass(frozen=True)
class TeamUnit:
    id: int
    name: str
    commune: CommuneUnit
    formed_on: date
    dissolved_on: date | None


def team_in_scope(user: User, units: Units, pk: int) -> TeamUnit:
    """A team whose figures the user may see: its leader, its commune and above (one query)."""
    fields = ("id", "name", "commune_id", "formed_on", "dissolved_on")
    team = Team.objects.filter(pk=pk).values(*fields).first()
    if team is None or team["commune_id"] not in units.commune_by_id:
        raise Http404
    commune = units.commune_by_id[team["commune_id"]]
    district = units.district_by_id[commune.district_id]
    if not _reaches(scope_for(user), district, commune=commune, team_id=team["id"]):
        raise Http404
    return TeamUnit(team["id"], team["name"], commune, team["formed_on"], team["dissolved_on"])


def landing_for(user: User, units: Units) -> tuple[str, int] | None:
    """Where /dashboard/ sends a commune official or a team leader: ("commune", code) or
    ("team", pk); None for those who see the province's figures."""
    scope = scope_for(user)
    if scope.level == ScopeLevel.COMMUNE and scope.commune_ids:
        commune = units.commune_by_id.get(min(scope.commune_ids))
        return ("commune", commune.code) if commune else None
    if scope.level == ScopeLevel.TEAM and scope.team_ids:
        return ("team", min(scope.team_ids))
    return None


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
    districts_total: AreaRow | None = None
    communes: list[AreaRow] = field(default_factory=list)
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


def _marks(row: dict, names: Iterable[str]) -> dict[str, Marks]:
    marks = {}
    for name in names:
        before = row[f"{name}__before"] or 0
        year = row.get(f"{name}__year", before) or 0
        marks[name] = Marks(row[f"{name}__end"] or 0, before, year)
    return marks


def _commune_days(place: Q, period: Period) -> dict[int, dict[str, Marks]]:
    """Each commune's stocks at the three marks (one query, a row per commune)."""
    rows = (
        CommuneDay.objects.filter(place, day__lte=period.end)
        .order_by()
        .values("commune_id")
        .annotate(**_marked_sums(STOCKS, period))
    )
    return {row["commune_id"]: _marks(row, STOCKS) for row in rows}


@dataclass
class TrainingCell:
    level: str
    district_id: int | None
    commune_id: int | None
    marks: dict[str, Marks]


def _training_days(place: Q, period: Period) -> list[TrainingCell]:
    """Sessions, attendees and completions per level and place (one query)."""
    rows = (
        TrainingDay.objects.filter(place, day__lte=period.end)
        .order_by()
        .values("level", "district_id", "commune_id")
        .annotate(**_marked_sums(TRAINING_STOCKS, period))
    )
    return [
        TrainingCell(r["level"], r["district_id"], r["commune_id"], _marks(r, TRAINING_STOCKS))
        for r in rows
    ]


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
    by_month = {row["month"]: row for row in rows}
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


def _commune_trend(place: Q, period: Period) -> list[TrendRow]:
    return _trend(
        CommuneDay,
        place,
        period,
        {"visits": Sum("visits"), "households_first": Sum("households_first")},
    )


def _services(units: Units, place: Q, period: Period) -> list[ServiceRow]:
    rows = (
        CommuneDayService.objects.filter(place, day__gte=period.start, day__lte=period.end)
        .order_by()
        .values("service_id")
        .annotate(visits=Sum("visits"))
    )
    visits = {row["service_id"]: row["visits"] or 0 for row in rows}
    return [
        ServiceRow(s.code, str(SERVICE_LABELS.get(s.code, s.name)), visits.get(s.id, 0))
        for s in units.services
    ]


def _readiness(place: Q) -> list[ReadinessRow]:
    rows = (
        CommuneReadiness.objects.filter(place)
        .order_by()
        .values("item")
        .annotate(yes=Sum("households_yes"), answered=Sum("households_answered"))
    )
    by_item = {row["item"]: row for row in rows}
    result = []
    for item in CommuneReadiness.ITEMS:
        row = by_item.get(item, {})
        label = capfirst(str(Household._meta.get_field(item).verbose_name))
        result.append(ReadinessRow(item, label, row.get("yes") or 0, row.get("answered") or 0))
    return result


# --- Putting the figures together -------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a page's figures are read: its communes and the filter of each table."""

    communes: list[CommuneUnit]
    # CommuneDay, CommuneDayService and CommuneReadiness all carry commune and district.
    days: Q
    training: Q
    year: Q
    targets: dict[str, int]


def province_place(units: Units, province_id: int) -> Place:
    district_ids = [d.id for d in units.districts_of(province_id)]
    return Place(
        communes=units.communes_of(district_ids),
        days=Q(district_id__in=district_ids),
        # Province-level sessions and completions belong to no district.
        training=Q(district__isnull=True, commune__isnull=True) | Q(district_id__in=district_ids),
        year=Q(district__isnull=True, commune__isnull=True),
        targets={},
    )


def district_place(units: Units, district: DistrictUnit) -> Place:
    # A commune's training rows carry its district, so this takes in both levels.
    return Place(
        communes=units.communes_of([district.id]),
        days=Q(district_id=district.id),
        training=Q(district_id=district.id),
        year=Q(district_id=district.id, commune__isnull=True),
        targets={"district_id": district.id},
    )


def commune_place(commune: CommuneUnit) -> Place:
    return Place(
        communes=[commune],
        days=Q(commune_id=commune.id),
        training=Q(commune_id=commune.id),
        year=Q(commune_id=commune.id),
        targets={"commune_id": commune.id},
    )


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
        new_rural_status=str(
            dict(Commune.NewRuralStatus.choices).get(commune.new_rural_status, "")
        ),
    )


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
) -> tuple[list[Tile], list[AreaRow]]:
    """A place's tiles and its communes' rows, from rows already read (two more queries:
    officials trained and the targets)."""
    rows = [_commune_row(c, units, days, _commune_sessions(cells)) for c in place.communes]
    known = [c.households for c in place.communes if c.households is not None]
    tiles = _tiles(
        period=period,
        stocks=_sum_marks((days[c.id] for c in place.communes if c.id in days), STOCKS),
        training=_sum_marks((cell.marks for cell in cells), TRAINING_STOCKS),
        officials_trained=_officials_trained(place.year, period.year),
        households=sum(known) if known else None,
        targets=targets_for(period.year, **place.targets),
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


def _priority(communes: list[CommuneUnit], rows: list[AreaRow]) -> list[AreaRow]:
    """The communes building advanced or model new-rural status, with their rows."""
    codes = {c.code for c in communes if c.new_rural_status in PRIORITY_STATUSES}
    return [row for row in rows if row.code in codes]


def _with_communes(
    figures: Figures, units: Units, place: Place, period: Period, rows: list[AreaRow]
) -> Figures:
    """The tables of a province or district: communes, ranking, priority communes, trend,
    services and readiness (three more queries)."""
    figures.communes = rows
    figures.communes_total = _total_row(rows)
    # The ranking flags rows: rank copies, so the communes table stays unflagged.
    figures.ranking, figures.unranked = _rank([replace(row) for row in rows])
    figures.priority = _priority(place.communes, rows)
    figures.trend = _commune_trend(place.days, period)
    figures.services = _services(units, place.days, period)
    figures.readiness = _readiness(place.days)
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
    if province_id is None or (district is not None and not _reaches(scope_for(user), district)):
        raise Http404
    if not sees_province(user):
        # District staff: the province's totals, never its tables.
        tiles_only, district = True, None

    def compute() -> Figures:
        province = province_place(units, province_id)
        # The districts table needs every commune whatever the focus: read them once.
        days = _commune_days(province.days, period)
        cells = _training_days(province.training, period)
        if tiles_only:
            tiles, _rows = _area(units, province, period, days=days, cells=cells)
            return Figures(tiles=tiles)
        if district is None:
            focus, focus_cells = province, cells
        else:
            focus = district_place(units, district)
            focus_cells = [cell for cell in cells if cell.district_id == district.id]
        tiles, rows = _area(units, focus, period, days=days, cells=focus_cells)
        figures = _with_communes(Figures(tiles=tiles), units, focus, period, rows)
        province_rows = rows
        if district is not None:
            sessions = _commune_sessions(cells)
            province_rows = [_commune_row(c, units, days, sessions) for c in province.communes]
        figures.districts = _district_rows(
            units, units.districts_of(province_id), province_rows, cells
        )
        figures.districts_total = _total_row(figures.districts)
        return figures

    place_key = f"{province_id}:{district.code if district else ''}:{int(tiles_only)}"
    return _figures_cached(snap, user, "overview", place_key, period, compute)


def district_figures(user: User, snap: Snapshot, district: DistrictUnit, period: Period) -> Figures:
    """A district's tiles, its communes, trend, services, readiness and own trainings."""
    units = snap.units
    if not _reaches(scope_for(user), district):
        raise Http404

    def compute() -> Figures:
        place = district_place(units, district)
        days = _commune_days(place.days, period)
        cells = _training_days(place.training, period)
        tiles, rows = _area(units, place, period, days=days, cells=cells)
        figures = _with_communes(Figures(tiles=tiles), units, place, period, rows)
        figures.audiences = _district_audiences(district, period)
        return figures

    return _figures_cached(snap, user, "district", district.code, period, compute)


def _district_audiences(district: DistrictUnit, period: Period) -> list[AudienceRow]:
    """The sessions the district held itself in the period, by audience."""
    rows = (
        TrainingDay.objects.filter(
            level=Level.DISTRICT,
            district_id=district.id,
            day__gte=period.start,
            day__lte=period.end,
        )
        .order_by()
        .values("audience")
        .annotate(
            sessions_held=Sum("sessions_held"),
            attendees=Sum("attendees"),
            course_completions=Sum("course_completions"),
        )
    )
    by_audience = {row["audience"]: row for row in rows}
    return [
        AudienceRow(
            audience,
            str(label),
            by_audience[audience]["sessions_held"] or 0,
            by_audience[audience]["attendees"] or 0,
            by_audience[audience]["course_completions"] or 0,
        )
        for audience, label in Audience.choices
        if audience in by_audience
    ]


def commune_figures(user: User, snap: Snapshot, commune: CommuneUnit, period: Period) -> Figures:
    """A commune's tiles, its hamlets and teams, trend, services and readiness."""
    units = snap.units
    if not _reaches(scope_for(user), units.district_by_id[commune.district_id], commune=commune):
        raise Http404

    def compute() -> Figures:
        place = commune_place(commune)
        days = _commune_days(place.days, period)
        cells = _training_days(place.training, period)
        tiles, _rows = _area(units, place, period, days=days, cells=cells)
        return Figures(
            tiles=tiles,
            trend=_commune_trend(place.days, period),
            services=_services(units, place.days, period),
            readiness=_readiness(place.days),
            hamlets=_hamlets(commune, period),
            teams=_teams(commune, period),
        )

    return _figures_cached(snap, user, "commune", commune.code, period, compute)


def _hamlets(commune: CommuneUnit, period: Period) -> list[HamletRow]:
    """The commune's hamlets; one no longer in use only if it has figures (two queries)."""
    in_period = Q(day__gte=period.start)
    rows = (
        HamletDay.objects.filter(commune_id=commune.id, day__lte=period.end)
        .order_by()
        .values("hamlet_id")
        .annotate(
            reached=Sum("households_first"),
            visits=Sum("visits", filter=in_period),
            first=Sum("households_first", filter=in_period),
            residents=Sum("residents_helped", filter=in_period),
        )
    )
    by_hamlet = {row["hamlet_id"]: row for row in rows}
    hamlets = Hamlet.objects.filter(commune_id=commune.id).order_by(VietnameseOrder("name"), "pk")
    result = []
    for hamlet_id, name, active in hamlets.values_list("id", "name", "is_active"):
        row = by_hamlet.get(hamlet_id)
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
    started (two queries)."""
    total = TeamTotal.objects.filter(team=OuterRef("pk"))
    teams = (
        Team.objects.filter(commune_id=commune.id)
        .annotate(
            visits_total=Subquery(total.values("visits")[:1]),
            reached=Subquery(total.values("households_reached")[:1]),
            last_visited_on=Subquery(total.values("last_visited_on")[:1]),
        )
        .order_by(F("dissolved_on").desc(nulls_first=True), VietnameseOrder("name"), "pk")
        .values("id", "name", "dissolved_on", "visits_total", "reached", "last_visited_on")
    )
    in_period = (
        TeamDay.objects.filter(commune_id=commune.id, day__gte=period.start, day__lte=period.end)
        .order_by()
        .values("team_id")
        .annotate(visits=Sum("visits"), residents=Sum("residents_helped"))
    )
    work = {row["team_id"]: row for row in in_period}
    result = []
    for team in teams:
        done = work.get(team["id"], {})
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
    last visit, and its monthly trend (three queries)."""
    district = snap.units.district_by_id[team.commune.district_id]
    if not _reaches(scope_for(user), district, commune=team.commune, team_id=team.id):
        raise Http404

    def compute() -> Figures:
        done = TeamDay.objects.filter(
            team_id=team.id, day__gte=period.start, day__lte=period.end
        ).aggregate(
            visits=Sum("visits"), households=Sum("households"), residents=Sum("residents_helped")
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
            trend_households_label=str(_("Households visited")),
        )

    return _figures_cached(snap, user, "team", team.id, period, compute)
