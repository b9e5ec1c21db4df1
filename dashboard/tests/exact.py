"""The figures the summary tables must hold, recomputed in Python from the raw rows:
the oracle of the roll-up's exactness tests and of the fault tests."""

from collections import Counter, defaultdict
from collections.abc import Collection

from django.db.models import Q

from communes.models import Commune
from dashboard.models import (
    CommuneDay,
    CommuneDayService,
    CommuneMonth,
    CommuneMonthService,
    CommuneReadiness,
    DistrictDay,
    DistrictDayService,
    HamletDay,
    TeamDay,
    TeamTotal,
    TrainingDay,
    TrainingYear,
)
from outreach.models import READINESS_FIELDS, Household, Member, Team, Visit
from trainings.models import CourseEnrolment, Level, TrainingSession
from trainings.selectors import training_figures


def expected_figures(codes: Collection[int] = ()) -> dict[str, set]:
    """Every summary figure recomputed in Python from the raw rows; `codes` adds communes
    whose distinct people trained are checked even where nobody was trained."""
    visits = list(
        Visit.objects.select_related("team", "household").prefetch_related("members", "services")
    )
    first_of: dict[int, Visit] = {}
    for visit in sorted(visits, key=lambda v: (v.visited_on, v.pk)):
        first_of.setdefault(visit.household_id, visit)
    communes = dict(Commune.objects.values_list("pk", "district_id"))

    days: dict[tuple, Counter] = defaultdict(Counter)
    members_out: dict[tuple, set] = defaultdict(set)
    teams_out: dict[tuple, set] = defaultdict(set)
    services: Counter = Counter()
    hamlets: dict[tuple, Counter] = defaultdict(Counter)
    team_days: dict[tuple, Counter] = defaultdict(Counter)
    team_households: dict[tuple, set] = defaultdict(set)
    for v in visits:
        key = (v.team.commune_id, v.visited_on)
        first = first_of[v.household_id].pk == v.pk
        days[key].update(visits=1, households_first=int(first), return_visits=int(not first))
        days[key]["residents_helped"] += v.residents_helped
        teams_out[key].add(v.team_id)
        members_out[key] |= {m.pk for m in v.members.all()}
        for service in v.services.all():
            services[(*key, service.pk)] += 1
        # Where the visit was recorded: its household's hamlet then (a household that
        # moves later leaves its visits there).
        hamlet_key = (v.hamlet_id, v.commune_id, v.visited_on)
        hamlets[hamlet_key].update(visits=1, households_first=int(first))
        hamlets[hamlet_key]["residents_helped"] += v.residents_helped
        team_key = (v.team_id, v.team.commune_id, v.visited_on)
        team_days[team_key].update(visits=1)
        team_days[team_key]["residents_helped"] += v.residents_helped
        team_households[team_key].add(v.household_id)
    first_by_team: dict[tuple, Visit] = {}
    for v in sorted(visits, key=lambda v: (v.visited_on, v.pk)):
        first_by_team.setdefault((v.team_id, v.household_id), v)
    for v in first_by_team.values():
        team_days[(v.team_id, v.team.commune_id, v.visited_on)]["households_new"] += 1
    for key in days:
        days[key]["teams_visiting"] = len(teams_out[key])
        days[key]["members_visiting"] = len(members_out[key])
    for team in Team.objects.all():
        days[(team.commune_id, team.formed_on)]["teams_formed"] += 1
        if team.dissolved_on:
            days[(team.commune_id, team.dissolved_on)]["teams_dissolved"] += 1
    for member in Member.objects.select_related("team"):
        commune = member.team.commune_id
        days[(commune, member.joined_on)]["members_joined"] += 1
        if member.left_on:
            days[(commune, member.left_on)]["members_left"] += 1
        if member.on_zalo_oa:
            since = max(member.joined_on, member.zalo_joined_on or member.joined_on)
            if member.left_on is None or member.left_on >= since:
                days[(commune, since)]["zalo_joined"] += 1
                if member.left_on:
                    days[(commune, member.left_on)]["zalo_left"] += 1

    totals = set()
    for team in Team.objects.all():
        mine = [v for v in visits if v.team_id == team.pk]
        totals.add(
            (
                team.pk,
                len(mine),
                len({v.household_id for v in mine}),
                max((v.visited_on for v in mine), default=None),
            )
        )
    readiness = set()
    for commune_id in {h.commune_id for h in Household.objects.all()}:
        households = Household.objects.filter(commune_id=commune_id)
        for item in READINESS_FIELDS:
            yes = sum(1 for h in households if getattr(h, item) is True)
            answered = sum(1 for h in households if getattr(h, item) is not None)
            # An item nobody in the commune answered has no row.
            if answered:
                readiness.add((commune_id, item, yes, answered))

    trainings: dict[tuple, Counter] = defaultdict(Counter)
    for session in TrainingSession.objects.filter(status=TrainingSession.Status.HELD):
        district = session.district_id or (session.commune.district_id if session.commune else None)
        key = (session.level, district, session.commune_id, session.starts_on, session.audience)
        named = session.attendances.count()
        counted = getattr(session, "headcount", None)
        trainings[key]["sessions_held"] += 1
        trainings[key]["attendees"] += counted.total if counted else named
    for e in CourseEnrolment.objects.filter(completed_on__isnull=False).select_related("commune"):
        level = (
            Level.COMMUNE if e.commune_id else Level.DISTRICT if e.district_id else Level.PROVINCE
        )
        district = e.district_id or (e.commune.district_id if e.commune else None)
        trainings[(level, district, e.commune_id, e.completed_on, e.audience)][
            "course_completions"
        ] += 1

    years = set()
    for year in {k[3].year for k in trainings}:
        province = training_figures(year)
        years.add((year, None, None, province.distinct_people, province.officials_trained))
        used = Commune.objects.filter(
            Q(code__in=codes)
            | Q(pk__in=CourseEnrolment.objects.values("commune"))
            | Q(pk__in=TrainingSession.objects.values("commune"))
        )
        for district_id in {c.district_id for c in used}:
            f = training_figures(year, district_id=district_id)
            if f.distinct_people:
                years.add((year, district_id, None, f.distinct_people, f.officials_trained))
        for commune_id in [c.pk for c in used]:
            f = training_figures(year, commune_id=commune_id)
            if f.distinct_people:
                years.add((year, None, commune_id, f.distinct_people, f.officials_trained))

    def nonzero(counter):
        return tuple(sorted((k, v) for k, v in counter.items() if v))

    months: dict[tuple, Counter] = defaultdict(Counter)
    for (c, d), f in days.items():
        months[(c, d.replace(day=1))].update(
            {name: value for name, value in f.items() if name in MONTH_FIGURES}
        )
    month_services: Counter = Counter()
    for (c, d, service), n in services.items():
        month_services[(c, d.replace(day=1), service)] += n

    # Each day row's running totals: its commune's figures summed up to that day.
    day_totals = set()
    running: dict[int, Counter] = defaultdict(Counter)
    for (c, d), f in sorted(days.items(), key=lambda item: (item[0][1], item[0][0])):
        for name, (added, removed) in CommuneDay.RUNNING_TOTALS.items():
            running[c][name] += f[added] - (f[removed] if removed else 0)
        day_totals.add((c, d, nonzero(running[c])))

    # A district's visits and first visits by day (a day with neither has no row), each
    # with the district's sums up to that day.
    district_days: dict[tuple, Counter] = defaultdict(Counter)
    for (c, d), f in days.items():
        if f["visits"] or f["households_first"]:
            district_days[(communes[c], d)].update(
                visits=f["visits"], households_first=f["households_first"]
            )
    district_day_rows = set()
    district_running: dict[int, Counter] = defaultdict(Counter)
    for (district, d), f in sorted(district_days.items(), key=lambda item: item[0][1]):
        district_running[district].update(f)
        so_far = district_running[district]
        district_day_rows.add(
            (
                district,
                d,
                f["visits"],
                f["households_first"],
                so_far["visits"],
                so_far["households_first"],
            )
        )

    # A district's visits by service and day, each with the (district, service)'s
    # visits up to that day.
    district_services: Counter = Counter()
    for (c, d, service), n in services.items():
        district_services[(communes[c], service, d)] += n
    district_totals: Counter = Counter()
    district_rows = set()
    for (district, service, d), n in sorted(district_services.items(), key=lambda i: i[0][2]):
        district_totals[(district, service)] += n
        district_rows.add((district, service, d, n, district_totals[(district, service)]))

    return {
        "commune_day_totals": day_totals,
        "commune_month": {
            (c, m, communes[c], nonzero(f)) for (c, m), f in months.items() if nonzero(f)
        },
        "month_services": {(c, m, s, n) for (c, m, s), n in month_services.items()},
        "commune_day": {(c, d, communes[c], nonzero(f)) for (c, d), f in days.items()},
        "services": {(c, d, s, n) for (c, d, s), n in services.items()},
        "district_days": district_day_rows,
        "district_services": district_rows,
        "hamlets": {(h, c, d, nonzero(f)) for (h, c, d), f in hamlets.items()},
        "team_days": {
            (
                t,
                c,
                d,
                f["visits"],
                len(team_households[(t, c, d)]),
                f["residents_helped"],
                f["households_new"],
            )
            for (t, c, d), f in team_days.items()
        },
        "team_totals": totals,
        "readiness": readiness,
        "trainings": {(*k, nonzero(f)) for k, f in trainings.items()},
        "years": years,
    }


MONTH_FIGURES = [
    "visits",
    "households_first",
    "return_visits",
    "residents_helped",
    "teams_formed",
    "teams_dissolved",
    "members_joined",
    "members_left",
    "zalo_joined",
    "zalo_left",
]
COMMUNE_DAY_FIGURES = [
    "visits",
    "households_first",
    "return_visits",
    "residents_helped",
    "teams_visiting",
    "members_visiting",
    "teams_formed",
    "teams_dissolved",
    "members_joined",
    "members_left",
    "zalo_joined",
    "zalo_left",
]


def stored_figures() -> dict[str, set]:
    """What the summary tables hold, in the same shape as _expected()."""

    def figures(row, names):
        return tuple(sorted((n, getattr(row, n)) for n in names if getattr(row, n)))

    return {
        "commune_day_totals": {
            (r.commune_id, r.day, figures(r, CommuneDay.RUNNING_TOTALS))
            for r in CommuneDay.objects.all()
        },
        "commune_month": {
            (r.commune_id, r.month, r.district_id, figures(r, MONTH_FIGURES))
            for r in CommuneMonth.objects.all()
        },
        "month_services": set(
            CommuneMonthService.objects.values_list("commune_id", "month", "service_id", "visits")
        ),
        "commune_day": {
            (r.commune_id, r.day, r.district_id, figures(r, COMMUNE_DAY_FIGURES))
            for r in CommuneDay.objects.all()
        },
        "services": set(
            CommuneDayService.objects.values_list("commune_id", "day", "service_id", "visits")
        ),
        "district_days": set(
            DistrictDay.objects.values_list(
                "district_id",
                "day",
                "visits",
                "households_first",
                "visits_total",
                "households_first_total",
            )
        ),
        "district_services": set(
            DistrictDayService.objects.values_list(
                "district_id", "service_id", "day", "visits", "visits_total"
            )
        ),
        "hamlets": {
            (
                r.hamlet_id,
                r.commune_id,
                r.day,
                figures(r, ["visits", "households_first", "residents_helped"]),
            )
            for r in HamletDay.objects.all()
        },
        "team_days": set(
            TeamDay.objects.values_list(
                "team_id",
                "commune_id",
                "day",
                "visits",
                "households",
                "residents_helped",
                "households_new",
            )
        ),
        "team_totals": set(
            TeamTotal.objects.values_list(
                "team_id", "visits", "households_reached", "last_visited_on"
            )
        ),
        "readiness": set(
            CommuneReadiness.objects.values_list(
                "commune_id", "item", "households_yes", "households_answered"
            )
        ),
        "trainings": {
            (
                r.level,
                r.district_id,
                r.commune_id,
                r.day,
                r.audience,
                figures(r, ["sessions_held", "attendees", "course_completions"]),
            )
            for r in TrainingDay.objects.all()
        },
        "years": set(
            TrainingYear.objects.values_list(
                "year", "district_id", "commune_id", "people_trained", "officials_trained"
            )
        ),
    }


def assert_figures_exact(codes: Collection[int] = ()) -> None:
    expected, stored = expected_figures(codes), stored_figures()
    for table in expected:
        missing = expected[table] - stored[table]
        extra = stored[table] - expected[table]
        assert not missing and not extra, f"{table}: missing {missing}, extra {extra}"
