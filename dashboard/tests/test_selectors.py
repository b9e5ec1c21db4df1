"""The dashboard's selectors: periods, how figures are added up, targets and pace, what
is cached, and a fixed number of queries whatever the data."""

import datetime as dt

import pytest
from django.http import QueryDict
from django.utils import timezone, translation

from accounts.tests.factories import district_staff, province_staff
from communes.models import Commune, District, Hamlet, Province
from dashboard import selectors
from dashboard.forms import DashboardFilterForm
from dashboard.models import Target, TeamTotal
from dashboard.selectors import Period, PeriodKind, period_current, period_custom
from dashboard.selectors.periods import TREND_MAX_MONTHS
from outreach.tests.factories import HamletFactory, TeamFactory

from .test_pages import OUR_DISTRICT, OURS, commune_day, publish, training_day

TODAY = dt.date(2026, 11, 29)


# --- Periods -------------------------------------------------------------------------------


def test_this_month_quarter_and_year_run_to_today():
    assert period_current(PeriodKind.MONTH, TODAY) == Period("month", dt.date(2026, 11, 1), TODAY)
    assert period_current(PeriodKind.QUARTER, TODAY).start == dt.date(2026, 10, 1)
    assert period_current(PeriodKind.YEAR, TODAY).start == dt.date(2026, 1, 1)
    assert period_current(PeriodKind.QUARTER, dt.date(2026, 3, 31)).start == dt.date(2026, 1, 1)


def test_a_custom_range_ends_today_at_the_latest():
    period = period_custom(dt.date(2026, 6, 1), dt.date(2027, 1, 31), TODAY)
    assert period.end == TODAY


def test_the_trend_shows_the_period_s_months_or_the_last_year_for_a_short_period():
    assert len(period_current(PeriodKind.YEAR, TODAY).months()) == 11
    month = period_current(PeriodKind.MONTH, TODAY).months()
    assert (month[0], month[-1], len(month)) == (dt.date(2025, 12, 1), dt.date(2026, 11, 1), 12)
    long = period_custom(dt.date(2020, 1, 1), TODAY, TODAY).months()
    assert len(long) == TREND_MAX_MONTHS and long[-1] == dt.date(2026, 11, 1)


def _form(**data) -> DashboardFilterForm:
    query = QueryDict(mutable=True)
    query.update(data)
    return DashboardFilterForm(query, today=TODAY)


def test_the_filter_reads_day_first_dates_and_the_date_picker_s():
    typed = _form(period="custom", start="15/02/2026", end="2026-03-31").chosen_period()
    assert (typed.start, typed.end) == (dt.date(2026, 2, 15), dt.date(2026, 3, 31))


def test_the_filter_falls_back_to_this_year_on_bad_input():
    for data in [
        {"period": "weekly"},
        {"period": "custom", "start": "15/02/2026"},
        {"period": "custom", "start": "01/03/2026", "end": "01/02/2026"},
        {"period": "custom", "start": "01/01/2027", "end": "02/01/2027"},
    ]:
        form = _form(**data)
        assert form.chosen_period() == period_current(PeriodKind.YEAR, TODAY), data
        assert form.errors, data
    assert _form().chosen_period().kind == PeriodKind.YEAR
    assert not _form().errors


# --- How figures add up --------------------------------------------------------------------


@pytest.fixture
def snap(divisions):
    publish()
    return selectors.snapshot()


@pytest.fixture
def provincial(divisions):
    return province_staff(Province.objects.get())


def _tile(figures, figure: str) -> selectors.Tile:
    return next(tile for tile in figures.tiles if tile.figure == figure)


@pytest.mark.django_db
def test_levels_are_at_the_period_s_end_and_yearly_counts_restart_each_year(provincial):
    commune = Commune.objects.get(code=OURS)
    commune_day(commune, dt.date(2024, 12, 30), teams_formed=3, residents_helped=50)
    commune_day(commune, dt.date(2025, 1, 2), teams_dissolved=1, residents_helped=7)
    publish()
    snap = selectors.snapshot()
    period = period_custom(dt.date(2024, 12, 1), dt.date(2025, 1, 31), TODAY)
    with translation.override("en"):
        figures = selectors.overview_figures(provincial, snap, period)
    teams = _tile(figures, "teams")
    assert (teams.value, teams.change) == (2, 2)
    residents = _tile(figures, "residents_helped")
    # 2025's count, against 2025's target; the change covers the whole period.
    assert (residents.value, residents.change, residents.note) == (7, 57, "in 2025")


@pytest.mark.django_db
def test_coverage_counts_only_communes_with_a_household_count(snap, provincial):
    known, unknown = Commune.objects.filter(district__code=OUR_DISTRICT).order_by("code")[:2]
    known.households = 200
    known.save(update_fields=["households"])
    commune_day(known, dt.date(2025, 2, 1), households_first=50)
    commune_day(unknown, dt.date(2025, 2, 1), households_first=500)
    publish(version=2)
    period = period_custom(dt.date(2025, 1, 1), dt.date(2025, 3, 31), TODAY)
    figures = selectors.overview_figures(provincial, selectors.snapshot(), period)
    district = next(row for row in figures.districts if row.code == OUR_DISTRICT)
    assert district.households_reached == 550
    assert district.coverage == 25.0
    assert [row.code for row in figures.unranked if row.code == unknown.code] == [unknown.code]


@pytest.mark.django_db
def test_a_district_s_sessions_are_its_own_and_its_communes_the_province_s_a_row_of_its_own(
    snap, provincial
):
    commune = Commune.objects.select_related("district").get(code=OURS)
    day = dt.date(2025, 2, 1)
    training_day(day, level="commune", commune=commune, sessions_held=2)
    training_day(day, level="district", district=commune.district, sessions_held=3)
    training_day(day, level="province", sessions_held=5)
    publish(version=2)
    period = period_custom(dt.date(2025, 1, 1), dt.date(2025, 3, 31), TODAY)
    figures = selectors.overview_figures(provincial, selectors.snapshot(), period)
    assert _tile(figures, "sessions_held").value == 10
    district = next(row for row in figures.districts if row.code == OUR_DISTRICT)
    assert district.sessions_held == 5
    # The province's own sessions are in no district: a row of their own, in the total.
    assert [(row.level, row.sessions_held) for row in figures.districts_above] == [("province", 5)]
    assert figures.districts_total.sessions_held == 10
    ours = next(row for row in figures.communes if row.code == OURS)
    assert ours.sessions_held == 2
    # Every commune of the province: the district's own and the province's, in none.
    assert [(row.level, row.sessions_held) for row in figures.communes_above] == [
        ("district", 3),
        ("province", 5),
    ]
    assert figures.communes_total.sessions_held == 10
    # The district's page: its communes, and its own sessions in none of them.
    unit = selectors.snapshot().units.district_by_code[OUR_DISTRICT]
    own = selectors.district_figures(provincial, selectors.snapshot(), unit, period)
    assert [(row.level, row.sessions_held) for row in own.communes_above] == [("district", 3)]
    assert own.communes_total.sessions_held == _tile(own, "sessions_held").value == 5


@pytest.mark.django_db
def test_a_district_without_a_target_aims_at_its_households_on_record(snap, provincial):
    district = District.objects.get(code=OUR_DISTRICT)
    commune = Commune.objects.get(code=OURS)
    commune.households = 400
    commune.save(update_fields=["households"])
    commune_day(commune, dt.date(2025, 2, 1), households_first=100, teams_formed=2)
    Target.objects.create(year=2025, figure="teams", value=4, district=district)
    publish(version=2)
    snap = selectors.snapshot()
    unit = snap.units.district_by_code[OUR_DISTRICT]
    period = period_custom(dt.date(2025, 1, 1), dt.date(2025, 12, 31), TODAY)
    figures = selectors.district_figures(provincial, snap, unit, period)
    households = _tile(figures, "households_reached")
    assert (households.target, households.percent, households.target_on_record) == (400, 25, True)
    teams = _tile(figures, "teams")
    # 2025 is over: the projection is where it ended, short of the district's target.
    assert (teams.target, teams.percent, teams.projected, teams.on_pace) == (4, 50, 2, False)
    # A district has no campaign target of its own.
    assert _tile(figures, "members").target is None


@pytest.mark.django_db
def test_the_commune_lists_active_teams_first_and_skips_unused_hamlets(snap, provincial):
    commune = Commune.objects.get(code=OURS)
    HamletFactory(commune=commune, name="Thôn Bắc")
    HamletFactory(commune=commune, name="Thôn Cũ", is_active=False)
    TeamFactory(commune=commune, name="Tổ A", dissolved_on=dt.date(2024, 5, 1))
    active = TeamFactory(commune=commune, name="Tổ B")
    TeamTotal.objects.create(
        team=active, commune=commune, visits=3, households_reached=2, computed_at=timezone.now()
    )
    unit = snap.units.commune_by_code[OURS]
    figures = selectors.commune_figures(provincial, snap, unit, period_current("year", TODAY))
    assert [(row.name, row.active, row.visits_total) for row in figures.teams] == [
        ("Tổ B", True, 3),
        ("Tổ A", False, 0),
    ]
    assert [row.name for row in figures.hamlets] == ["Thôn Bắc"]
    assert Hamlet.objects.filter(commune=commune).count() == 2


# --- Scope ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_out_of_scope_places_are_not_found(snap):
    from django.http import Http404

    staff = district_staff(District.objects.get(code=OUR_DISTRICT))
    assert selectors.district_in_scope(staff, snap.units, OUR_DISTRICT).code == OUR_DISTRICT
    for check, code in [
        (selectors.district_in_scope, 356),
        (selectors.district_in_scope, 999),
        (selectors.commune_in_scope, 13636),
    ]:
        with pytest.raises(Http404):
            check(staff, snap.units, code)
    # Handed another district's unit, the figures' selectors refuse it all the same.
    period = period_current("year", TODAY)
    with pytest.raises(Http404):
        selectors.district_figures(staff, snap, snap.units.district_by_code[356], period)
    with pytest.raises(Http404):
        selectors.commune_figures(staff, snap, snap.units.commune_by_code[13636], period)
    # And the province's overview is its totals only.
    overview = selectors.overview_figures(staff, snap, period)
    assert overview.tiles and not overview.districts and not overview.communes


# --- Queries and cache ----------------------------------------------------------------------

# The overview's figures for the province, not cached: CommuneDay, TrainingDay,
# TrainingYear, targets, trend, services, readiness.
OVERVIEW_FIGURE_QUERIES = 7


@pytest.mark.django_db
def test_the_overview_s_figures_take_seven_queries_then_none(
    snap, provincial, django_assert_num_queries
):
    period = period_current("year", TODAY)
    # The figures are read when first used (a page whose tables are cached never does).
    with django_assert_num_queries(OVERVIEW_FIGURE_QUERIES):
        first = selectors.overview_figures(provincial, snap, period)
        total = first.districts_total
    with django_assert_num_queries(0):
        again = selectors.overview_figures(provincial, snap, period)
        assert again.districts_total == total


@pytest.mark.django_db
def test_the_overview_s_queries_do_not_grow_with_the_data(
    snap, provincial, django_assert_num_queries
):
    for commune in Commune.objects.all():
        for month in (1, 2, 3):
            commune_day(commune, dt.date(2025, month, 5), visits=4, households_first=2)
    publish(version=2)
    snap = selectors.snapshot()
    period = period_custom(dt.date(2025, 1, 1), dt.date(2025, 3, 31), TODAY)
    with django_assert_num_queries(OVERVIEW_FIGURE_QUERIES):
        figures = selectors.overview_figures(provincial, snap, period)
        assert figures.districts_total.visits == 226 * 12


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2025, 1, 15), dt.date(2025, 3, 10)),  # both ends inside a month
        (dt.date(2025, 1, 1), dt.date(2025, 3, 31)),  # whole months: month rows only
        (dt.date(2025, 1, 21), dt.date(2025, 2, 28)),
    ],
)
def test_figures_read_from_months_and_cut_days_equal_the_day_by_day_sums(provincial, start, end):
    """Whole months are read from the month rows, the months a period's ends cut from
    their days: whatever the period, the figures are the sums of the day rows."""
    from dashboard.models import CommuneDayService
    from outreach.models import Service

    commune = Commune.objects.get(code=OURS)
    service = Service.objects.get(code="ecommerce")
    days = [dt.date(2024, 12, 30), dt.date(2025, 1, 10), dt.date(2025, 1, 20)]
    days += [dt.date(2025, 2, 5), dt.date(2025, 3, 9), dt.date(2025, 3, 15)]
    for n, day in enumerate(days, start=1):
        commune_day(commune, day, visits=10**n, teams_formed=n, households_first=n)
        CommuneDayService.objects.create(
            commune=commune,
            district_id=commune.district_id,
            day=day,
            service=service,
            visits=10**n,
            computed_at=timezone.now(),
        )
    publish(version=5)
    period = period_custom(start, end, TODAY)
    figures = selectors.overview_figures(provincial, selectors.snapshot(), period)

    inside = [10**n for n, d in enumerate(days, start=1) if start <= d <= end]
    assert figures.districts_total.visits == sum(inside)
    teams = _tile(figures, "teams")
    assert teams.value == sum(n for n, d in enumerate(days, start=1) if d <= end)
    assert {s.code: s.visits for s in figures.services}["ecommerce"] == sum(inside)
    by_month = {row.month: row.visits for row in figures.trend}
    for month in {d.replace(day=1) for d in days if d <= end} & set(by_month):
        expected = sum(
            10**n for n, d in enumerate(days, start=1) if d.replace(day=1) == month and d <= end
        )
        assert by_month[month] == expected, month
