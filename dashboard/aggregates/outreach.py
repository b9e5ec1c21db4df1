"""The outreach figures of the summary tables, read from outreach's raw rows.

The dashboard owns every aggregation: the roll-up (dashboard/rollup.py) recomputes
(commune, day) cells from these reads and writes the rows into its summary tables in the
database (INSERT ... SELECT), so no row passes through Python; outreach's selectors carry
no roll-up code.
"""

from collections.abc import Collection

from django.db import connection
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from outreach.models import READINESS_FIELDS, Household, Member, Team, Visit

from ..models import CommuneDay
from . import in_cells

# Each returns a grouped query (a queryset, or SQL and its parameters) whose columns carry
# the summary table's column names; a table fed by several sources gets one queryset per
# source, with zeros in the columns it has no figure for, for the dashboard to add up by
# key. `communes` and `days` narrow the cells (None: all); `start`/`end` narrow the days
# to a range. A visit's commune is its team's, which the visit service keeps equal to its
# household's.

# In the order of the UNION ALL that adds the sources up: the summary's own.
COMMUNE_DAY_FIGURES = CommuneDay.FIGURE_FIELDS


def _cells(queryset: QuerySet, *, commune: str, day: str, communes=None, **cells) -> QuerySet:
    return in_cells(queryset, place=commune, day=day, places=communes, **cells)


def _grouped(queryset: QuerySet, keys: dict[str, str], figures: dict, columns=()) -> QuerySet:
    """Rows grouped by the keys (column name: path) with the figures, and a zero in each
    of `columns` the source has no figure for, in the order keys, columns."""
    fields = [name for name, path in keys.items() if name == path]
    renamed = {name: F(path) for name, path in keys.items() if name != path}
    zeros = {name: Value(0) for name in columns if name not in figures}
    return (
        queryset.values(*fields, **renamed)
        .annotate(**figures, **zeros)
        .values_list(*keys, *(columns or figures))
    )


def _visits_in(**cells) -> QuerySet[Visit]:
    return _cells(Visit.objects.all(), commune="team__commune_id", day="visited_on", **cells)


def _first_visits_in(**cells) -> QuerySet[Visit]:
    """The visits of the cells that are their household's first (the earliest day, then
    the lowest id), each looked up on the (household, day) index."""
    first = (
        Visit.objects.filter(household=OuterRef("household"))
        .order_by("visited_on", "pk")
        .values("pk")[:1]
    )
    return _visits_in(**cells).filter(pk=Subquery(first))


def _first_visit_days_by_hamlet() -> tuple[str, list]:
    """SQL and parameters for the rows (hamlet_id, commune_id, day, visits,
    households_first, residents_helped) counting every household on the day of its first
    visit, zeros in the other figures.

    For all visits at once: a look-up per household on the (household, day) index. An
    anti-join against an earlier visit compares each visit with all the household's
    others, and ranking the visits sorts them all; both take several times longer.
    """
    first_day = (
        Visit.objects.filter(household=OuterRef("pk")).order_by("visited_on").values("visited_on")
    )
    households = (
        Household.objects.order_by()
        .annotate(day=Subquery(first_day[:1]))
        .values_list("hamlet_id", "commune_id", "day")
    )
    sql, params = households.query.sql_with_params()
    return (
        "SELECT f.hamlet_id, f.commune_id, f.day, 0 AS visits, "  # noqa: S608 - SQL from the ORM
        "COUNT(*) AS households_first, 0 AS residents_helped "
        f"FROM ({sql}) f WHERE f.day IS NOT NULL GROUP BY f.hamlet_id, f.commune_id, f.day",
        list(params),
    )


def members_and_roster_by_commune_day(**cells) -> list[QuerySet]:
    """Per (commune, day), to add up by key: commune_id, district_id, day and the
    COMMUNE_DAY_FIGURES, of which these sources give members out and the roster changes
    (teams formed and dissolved, members who joined and left, members who joined and left
    the Zalo OA channel); the others are zeros. (The dashboard sums visits, first visits
    and teams out from its team and hamlet days.)

    A member counts on the Zalo OA from the later of joining the team and joining the
    channel (the channel date may be unknown) until they leave the team.
    """
    keys = {"commune_id": "team__commune_id", "district_id": "team__commune__district_id"}

    def source(queryset, day, keys=keys, **figures):
        return _grouped(
            _cells(queryset, commune=keys["commune_id"], day=day, **cells),
            {**keys, "day": day},
            figures,
            COMMUNE_DAY_FIGURES,
        )

    sources = [
        source(
            Visit.members.through.objects.all(),
            "visit__visited_on",
            keys={
                "commune_id": "visit__team__commune_id",
                "district_id": "visit__team__commune__district_id",
            },
            members_visiting=Count("member", distinct=True),
        ),
    ]
    zalo = Member.objects.filter(on_zalo_oa=True).annotate(
        zalo_from=Greatest("joined_on", Coalesce("zalo_joined_on", "joined_on"))
    )
    zalo = zalo.filter(Q(left_on__isnull=True) | Q(left_on__gte=F("zalo_from")))
    team_keys = {"commune_id": "commune_id", "district_id": "commune__district_id"}
    changes = {
        "teams_formed": (Team.objects.all(), team_keys, "formed_on"),
        "teams_dissolved": (Team.objects.all(), team_keys, "dissolved_on"),
        "members_joined": (Member.objects.all(), keys, "joined_on"),
        "members_left": (Member.objects.all(), keys, "left_on"),
        "zalo_joined": (zalo, keys, "zalo_from"),
        "zalo_left": (zalo, keys, "left_on"),
    }
    for name, (queryset, place, day) in changes.items():
        queryset = queryset.filter(**{f"{day}__isnull": False})
        sources.append(source(queryset, day, keys=place, **{name: Count("pk")}))
    return sources


def commune_day_service_figures(**cells) -> QuerySet:
    """Rows (commune_id, district_id, day, service_id, visits) for visits that helped
    with a service."""
    return _grouped(
        _cells(
            Visit.services.through.objects.all(),
            commune="visit__team__commune_id",
            day="visit__visited_on",
            **cells,
        ),
        {
            "commune_id": "visit__team__commune_id",
            "district_id": "visit__team__commune__district_id",
            "day": "visit__visited_on",
            "service_id": "service_id",
        },
        {"visits": Count("visit")},
    )


def hamlet_day_figures(**cells) -> list:
    """Per (hamlet of the household, day), to add up by key: hamlet_id, commune_id, day,
    visits, households_first, residents_helped."""
    keys = {
        "hamlet_id": "household__hamlet_id",
        "commune_id": "household__commune_id",
        "day": "visited_on",
    }
    columns = ("visits", "households_first", "residents_helped")
    visits = _grouped(
        _visits_in(**cells),
        keys,
        {"visits": Count("pk"), "residents_helped": Sum("residents_helped")},
        columns,
    )
    if all(value is None for value in cells.values()):
        return [visits, _first_visit_days_by_hamlet()]
    first = _grouped(_first_visits_in(**cells), keys, {"households_first": Count("pk")}, columns)
    return [visits, first]


def team_day_figures(**cells) -> list:
    """Per (team, day), to add up by key: team_id, commune_id, day, visits, households,
    residents_helped and households_new: a team's visits, distinct households and
    residents helped on a day, and the households it visited that day for the first time
    (so that a team's households reached are the sum of its days')."""
    keys = {"team_id": "team_id", "commune_id": "team__commune_id", "day": "visited_on"}
    columns = ("visits", "households", "residents_helped", "households_new")
    visits = _grouped(
        _visits_in(**cells),
        keys,
        {
            "visits": Count("pk"),
            "households": Count("household", distinct=True),
            "residents_helped": Sum("residents_helped"),
        },
        columns,
    )
    if all(value is None for value in cells.values()):
        return [visits, _first_team_visit_days()]
    earlier = Visit.objects.filter(
        household=OuterRef("household"),
        team=OuterRef("team"),
        visited_on__lt=OuterRef("visited_on"),
    )
    first = _grouped(
        _visits_in(**cells).filter(~Exists(earlier)),
        keys,
        {"households_new": Count("household", distinct=True)},
        columns,
    )
    return [visits, first]


def _first_team_visit_days() -> tuple[str, list]:
    """SQL and parameters for the rows (team_id, commune_id, day, 0, 0, 0, households_new)
    counting, for all visits at once, each (team, household) pair on the day of its first
    visit: one hashed pass over the visits."""
    pairs = (
        Visit.objects.order_by()
        .values("team_id", "household_id", commune_id=F("team__commune_id"))
        .annotate(day=Min("visited_on"))
    )
    sql, params = pairs.query.sql_with_params()
    return (
        "SELECT p.team_id, p.commune_id, p.day, 0 AS visits, 0 AS households, "  # noqa: S608
        "0 AS residents_helped, COUNT(*) AS households_new "
        f"FROM ({sql}) p GROUP BY p.team_id, p.commune_id, p.day",
        list(params),
    )


def team_rows(teams: Collection[int] | None = None) -> tuple[str, list]:
    """SQL and parameters for the rows (id, commune_id) of the teams (None: every team)."""
    rows = Team.objects.order_by()
    if teams is not None:
        rows = rows.filter(pk__in=list(teams))
    sql, params = rows.values_list("id", "commune_id").query.sql_with_params()
    return sql, list(params)


def team_ids_in(communes: Collection[int]) -> set[int]:
    return set(Team.objects.filter(commune_id__in=list(communes)).values_list("pk", flat=True))


def readiness_figures(communes: Collection[int] | None = None) -> tuple[str, list]:
    """SQL and parameters for the rows (commune_id, district_id, item, households_yes,
    households_answered): per commune and readiness item, households whose current
    answer is yes, and households with any answer.

    One pass over the households counts every item; the rows are then turned into one
    per item.
    """
    households = Household.objects.order_by()
    if communes is not None:
        households = households.filter(commune_id__in=list(communes))
    counts = {}
    for item in READINESS_FIELDS:
        counts[f"{item}_yes"] = Count("pk", filter=Q(**{item: True}))
        counts[f"{item}_answered"] = Count("pk", filter=Q(**{f"{item}__isnull": False}))
    grouped = households.values("commune_id", district=F("commune__district_id")).annotate(**counts)
    sql, params = grouped.query.sql_with_params()
    quote = connection.ops.quote_name

    def pick(suffix: str) -> str:
        cases = " ".join(f"WHEN %s THEN r.{quote(f'{item}_{suffix}')}" for item in READINESS_FIELDS)
        return f"CASE i.item {cases} END"

    items = " UNION ALL ".join(["SELECT %s AS item"] * len(READINESS_FIELDS))
    unpivoted = (
        f"SELECT r.commune_id AS commune_id, r.district AS district_id, i.item AS item, "  # noqa: S608 - names from the code
        f"{pick('yes')} AS households_yes, {pick('answered')} AS households_answered "
        f"FROM ({sql}) r CROSS JOIN ({items}) i"
    )
    return unpivoted, [*READINESS_FIELDS, *READINESS_FIELDS, *params, *READINESS_FIELDS]
