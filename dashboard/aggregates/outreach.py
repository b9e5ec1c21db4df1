"""The outreach figures of the summary tables, read from outreach's raw rows.

The dashboard owns every aggregation: the roll-up (dashboard/rollup.py) recomputes
(commune, day) cells from these reads and writes the rows into its summary tables in the
database (INSERT ... SELECT), so no row passes through Python; outreach's selectors carry
no roll-up code.
"""

from collections.abc import Collection

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from outreach.models import Member, MemberDay, ReadinessLevel, Team, Visit

from ..models import CommuneDay, TeamTotal
from . import in_cells

# Each returns a grouped query (a queryset, or SQL and its parameters) whose columns carry
# the summary table's column names; a table fed by several sources gets one queryset per
# source, with zeros in the columns it has no figure for, for the dashboard to add up by
# key. `communes` and `days` narrow the cells (None: all); `start`/`end` narrow the days
# to a range. They read the facts the visit services record as they write (a visit's
# commune, hamlet and ranks; members out per commune and day; readiness changes per
# commune and day: outreach/facts.py), never a household's or a team's history.

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
    return _cells(Visit.objects.all(), commune="commune_id", day="visited_on", **cells)


def _commune_day_source(queryset, day: str, keys: dict[str, str], cells: dict, **figures):
    """Rows grouped by (commune, district, day) with the figures, in COMMUNE_DAY_FIGURES'
    columns, zeros in the others."""
    return _grouped(
        _cells(queryset, commune=keys["commune_id"], day=day, **cells),
        {**keys, "day": day},
        figures,
        COMMUNE_DAY_FIGURES,
    )


def members_by_commune_day(**cells) -> QuerySet:
    """Per (commune, day), to add up by key with the dashboard's other sources of
    CommuneDay (commune_id, district_id, day and the COMMUNE_DAY_FIGURES): members out,
    a count of the member days; zeros in the other figures."""
    keys = {"commune_id": "commune_id", "district_id": "commune__district_id"}
    return _commune_day_source(
        MemberDay.objects.all(), "day", keys, cells, members_visiting=Count("pk")
    )


def roster_by_commune_day(**cells) -> list[QuerySet]:
    """Per (commune, day), as members_by_commune_day: the roster changes (teams formed
    and dissolved, members who joined and left, members who joined and left the Zalo OA
    channel), one source each.

    A member counts on the Zalo OA from the later of joining the team and joining the
    channel (the channel date may be unknown) until they leave the team.
    """
    keys = {"commune_id": "team__commune_id", "district_id": "team__commune__district_id"}
    zalo = Member.objects.filter(on_zalo_oa=True).annotate(
        zalo_from=Greatest("joined_on", Coalesce("zalo_joined_on", "joined_on"))
    )
    zalo = zalo.filter(Q(left_on__isnull=True) | Q(left_on__gte=F("zalo_from")))
    zalo_joined = zalo
    if (days := cells.get("days")) is not None:
        # The day a member counts from is one of the two dates: a filter their indexes
        # answer, before the computed one.
        days = list(days)
        zalo_joined = zalo.filter(Q(joined_on__any=days) | Q(zalo_joined_on__any=days))
    team_keys = {"commune_id": "commune_id", "district_id": "commune__district_id"}
    changes = {
        "teams_formed": (Team.objects.all(), team_keys, "formed_on"),
        "teams_dissolved": (Team.objects.all(), team_keys, "dissolved_on"),
        "members_joined": (Member.objects.all(), keys, "joined_on"),
        "members_left": (Member.objects.all(), keys, "left_on"),
        "zalo_joined": (zalo_joined, keys, "zalo_from"),
        "zalo_left": (zalo, keys, "left_on"),
    }
    return [
        _commune_day_source(
            queryset.filter(**{f"{day}__isnull": False}), day, place, cells, **{name: Count("pk")}
        )
        for name, (queryset, place, day) in changes.items()
    ]


def commune_day_service_figures(**cells) -> QuerySet:
    """Rows (commune_id, district_id, day, service_id, visits) for visits that helped
    with a service."""
    return _grouped(
        _cells(
            Visit.services.through.objects.all(),
            commune="visit__commune_id",
            day="visit__visited_on",
            **cells,
        ),
        {
            "commune_id": "visit__commune_id",
            "district_id": "visit__commune__district_id",
            "day": "visit__visited_on",
            "service_id": "service_id",
        },
        {"visits": Count("visit")},
    )


def hamlet_day_figures(**cells) -> QuerySet:
    """Per (hamlet the visit counted in, day): hamlet_id, commune_id, day, visits,
    households_first, residents_helped."""
    return _grouped(
        _visits_in(**cells),
        {"hamlet_id": "hamlet_id", "commune_id": "commune_id", "day": "visited_on"},
        {
            "visits": Count("pk"),
            "households_first": Count("pk", filter=Q(first_for_household=True)),
            "residents_helped": Sum("residents_helped"),
        },
    )


def team_day_figures(**cells) -> QuerySet:
    """Per (team, day): team_id, commune_id, day, visits, households, residents_helped
    and households_new: a team's visits, distinct households and residents helped on a
    day, and the households it visited that day for the first time (so that a team's
    households reached are the sum of its days')."""
    return _grouped(
        _visits_in(**cells),
        {"team_id": "team_id", "commune_id": "commune_id", "day": "visited_on"},
        {
            "visits": Count("pk"),
            "households": Count("household", distinct=True),
            "residents_helped": Sum("residents_helped"),
            "households_new": Count("pk", filter=Q(first_for_team=True)),
        },
    )


def team_rows(teams: Collection[int] | None = None) -> tuple[str, list]:
    """SQL and parameters for the rows (id, commune_id) of the teams (None: every team)."""
    rows = Team.objects.order_by()
    if teams is not None:
        rows = rows.filter(pk__any=list(teams))
    sql, params = rows.values_list("id", "commune_id").query.sql_with_params()
    return sql, list(params)


def teams_without_total(communes: Collection[int], teams: Collection[int]) -> set[int]:
    """The teams of the communes, and the given teams, that have no TeamTotal yet, in
    one query."""
    totalled = TeamTotal.objects.filter(team_id=OuterRef("pk"))
    rows = (
        Team.objects.order_by()
        .filter(Q(commune_id__any=list(communes)) | Q(pk__any=list(teams)))
        .filter(~Exists(totalled))
    )
    return set(rows.values_list("pk", flat=True))


def readiness_figures(communes: Collection[int] | None = None) -> QuerySet:
    """Rows (commune_id, district_id, item, households_yes, households_answered): per
    commune and readiness item, households whose current answer is yes, and households
    with any answer: the commune's readiness levels (the sums of its readiness days,
    kept as they change), a few rows a commune. An item nobody in the commune has
    answered has no row."""
    levels = ReadinessLevel.objects.order_by().filter(answered__gt=0)
    if communes is not None:
        levels = levels.filter(commune_id__any=list(communes))
    return levels.annotate(
        district_id=F("commune__district_id"),
        households_yes=F("yes"),
        households_answered=F("answered"),
    ).values_list("commune_id", "district_id", "item", "households_yes", "households_answered")
