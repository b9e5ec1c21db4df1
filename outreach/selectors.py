"""Reads of teams, members, households and visits, always within the user's scope."""

from collections.abc import Collection
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from accounts.models import AuditEntry, User
from accounts.scopes import scope_for
from accounts.selectors import HistoryEntry, audit_entries_of, history_of
from communes.models import Hamlet, VietnameseOrder
from core.phone import InvalidPhone, looks_like_phone, normalize_phone
from core.text import fold

from .models import READINESS_FIELDS, Household, Member, Service, Team, Visit


def hamlets_visible(user: User) -> QuerySet[Hamlet]:
    return scope_for(user).filter(Hamlet.objects.select_related("commune"), commune="commune")


def teams_visible(user: User) -> QuerySet[Team]:
    return scope_for(user).filter(
        Team.objects.select_related("commune__district", "hamlet"), commune="commune", team="pk"
    )


def members_visible(user: User) -> QuerySet[Member]:
    return scope_for(user).filter(
        Member.objects.select_related("team__commune", "user"),
        commune="team__commune",
        team="team",
    )


def households_visible(user: User) -> QuerySet[Household]:
    return scope_for(user).filter(
        Household.objects.select_related("hamlet", "commune"), commune="commune"
    )


def visits_visible(user: User) -> QuerySet[Visit]:
    return scope_for(user).filter(
        Visit.objects.select_related("team", "household__hamlet", "created_by").prefetch_related(
            Prefetch("services", queryset=Service.objects.all()),
            Prefetch("members", queryset=Member.objects.only("id", "full_name", "team_id")),
        ),
        commune="team__commune",
        team="team",
    )


def team_for_leader(user: User) -> Team | None:
    """The team a team leader logs visits for (the first, if they lead several)."""
    team_ids = scope_for(user).team_ids
    if not team_ids:
        return None
    return Team.objects.select_related("commune").filter(pk__in=team_ids).order_by("pk").first()


def services_active() -> QuerySet[Service]:
    return Service.objects.filter(is_active=True)


def households_matching(
    user: User, *, hamlet_id: int | None, text: str, limit: int = 10
) -> QuerySet[Household]:
    """Households whose address starts like what the leader is typing, for the picker."""
    folded = " ".join(fold(text).replace(",", " ").replace(".", " ").split())
    queryset = households_visible(user)
    if "\x00" in folded:
        # The database stores no NUL character (and refuses one in a query): no address
        # has one.
        return queryset.none()
    if hamlet_id:
        queryset = queryset.filter(hamlet_id=hamlet_id)
    if folded:
        queryset = queryset.filter(
            Q(address_folded__startswith=folded) | Q(address_folded__contains=f" {folded}")
        )
    return queryset.order_by("address_folded")[:limit]


def last_visit_defaults(team: Team) -> dict:
    """The hamlet and members of the team's latest visit, to pre-fill the next one."""
    last = (
        Visit.objects.filter(team=team)
        .select_related("household")
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None:
        return {}
    return {
        "hamlet": last.household.hamlet_id,
        "members": list(last.members.filter(is_active=True).values_list("id", flat=True)),
    }


# --- The list pages of teams, members and hamlets ------------------------------------

# Leaders first, then deputies, then members.
ROLE_ORDER = Case(
    When(role=Member.Role.LEADER, then=Value(0)),
    When(role=Member.Role.DEPUTY, then=Value(1)),
    default=Value(2),
)


def _count_of(queryset: QuerySet, link: str) -> Coalesce:
    """How many rows of `queryset` point at the outer row through `link`, as a subquery.

    A subquery per count keeps two counts over different joins from multiplying.
    """
    counted = (
        queryset.filter(**{link: OuterRef("pk")})
        .order_by()
        .values(link)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def members_matching(queryset: QuerySet[Member], text: str) -> QuerySet[Member]:
    """Members whose name contains `text` (ignoring accents), or whose phone matches it.

    Phones are stored as 0xxxxxxxxx: a whole number is normalised as the form does
    (+84, spaces, old 11 digits); a part of one is matched as digits.
    """
    text = text.strip()
    if not looks_like_phone(text):
        return queryset.filter(full_name_folded__contains=fold(text))
    try:
        return queryset.filter(phone=normalize_phone(text))
    except InvalidPhone:
        digits = "".join(ch for ch in text if ch.isdigit())
        if text.lstrip().startswith("+84"):
            digits = "0" + digits[2:]
        return queryset.filter(phone__contains=digits)


def named_like(queryset: QuerySet, text: str) -> QuerySet:
    """Rows (teams, hamlets) whose name contains `text`, ignoring accents and case."""
    return queryset.filter(name_folded__contains=fold(text))


def teams_listed(user: User) -> QuerySet[Team]:
    """The team list: teams in scope with their active members counted and their leader.

    The list's filter bar (outreach.filters.TeamFilter) narrows it."""
    # The database allows one active leader per team, so this is one row or none.
    leader = (
        Member.objects.filter(team=OuterRef("pk"), role=Member.Role.LEADER, is_active=True)
        .order_by()
        .values("full_name")[:1]
    )
    teams = teams_visible(user).annotate(
        active_member_count=Count("members", filter=Q(members__is_active=True)),
        leader_name=Subquery(leader),
    )
    return teams.order_by("commune__code", VietnameseOrder("name"), "pk")


def members_listed(user: User) -> QuerySet[Member]:
    """The member list: members in scope, by commune, team and role.

    The list's filter bar (outreach.filters.MemberFilter) narrows it."""
    return members_visible(user).order_by(
        "team__commune__code",
        VietnameseOrder("team__name"),
        "team_id",
        ROLE_ORDER,
        VietnameseOrder("full_name"),
        "pk",
    )


def hamlets_listed(user: User) -> QuerySet[Hamlet]:
    """The hamlet list: hamlets in scope with their active teams and households counted.

    The list's filter bar (outreach.filters.HamletFilter) narrows it."""
    hamlets = hamlets_visible(user).annotate(
        team_count=_count_of(Team.objects.active(), "hamlet"),
        household_count=_count_of(Household.objects.all(), "hamlet"),
    )
    return hamlets.order_by("commune__code", "-is_active", VietnameseOrder("name"), "pk")


def households_listed(user: User, *, text: str = "", hamlet_id: int | None = None):
    """Households in scope whose address or head's name contains `text`, by hamlet."""
    households = households_visible(user)
    if hamlet_id:
        households = households.filter(hamlet_id=hamlet_id)
    if text := text.strip():
        folded = " ".join(fold(text).replace(",", " ").split())
        households = households.filter(
            Q(address_folded__contains=folded) | Q(head_name__icontains=text)
        )
    return households.order_by("hamlet__name_folded", "address_folded")


# --- Figures for the dashboard's roll-up -----------------------------------------------
#
# The dashboard recomputes (commune, day) cells from these reads and writes the rows into
# its summary tables in the database (INSERT ... SELECT), so no row passes through Python.
# Each returns a grouped query (a queryset, or SQL and its parameters) whose columns carry
# the summary table's column names; a table fed by several sources gets one queryset per
# source, with zeros in the columns it has no figure for, for the dashboard to add up by
# key. `communes` and `days` narrow the cells (None: all); `start`/`end` narrow the days
# to a range. A visit's commune is its team's, which the visit service keeps equal to its
# household's.

COMMUNE_DAY_FIGURES = (
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
)


def _cells(
    queryset: QuerySet,
    *,
    commune: str,
    day: str,
    communes: Collection[int] | None = None,
    days: Collection[date] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> QuerySet:
    if communes is not None:
        queryset = queryset.filter(**{f"{commune}__in": list(communes)})
    if days is not None:
        queryset = queryset.filter(**{f"{day}__in": list(days)})
    if start is not None:
        queryset = queryset.filter(**{f"{day}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{day}__lte": end})
    return queryset.order_by()


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


# --- Histories -------------------------------------------------------------------------

HISTORY_LIMIT = 200


def team_history(team: Team) -> list[HistoryEntry]:
    return history_of(audit_entries_of([(Team, [team.pk])])[:HISTORY_LIMIT])


def member_history(member: Member) -> list[HistoryEntry]:
    return history_of(audit_entries_of([(Member, [member.pk])])[:HISTORY_LIMIT])


# A visit's pages list what was written; the trail also records who viewed the visit.
VISIT_WRITES = (AuditEntry.Action.CREATED, AuditEntry.Action.CHANGED, AuditEntry.Action.DELETED)
# The keys of a visit's entries (outreach.services.visits._snapshot) that hold ids.
VISIT_NAMED_KEYS = ("team", "hamlet", "members", "services")


def visit_trail(visit: Visit) -> list[AuditEntry]:
    """The creation, changes and deletion of a visit in the audit trail, newest first."""
    return list(
        audit_entries_of([(Visit, [visit.pk])]).filter(action__in=VISIT_WRITES)[:HISTORY_LIMIT]
    )


def visit_trail_names(user: User, entries: list[AuditEntry]) -> dict[str, dict]:
    """The teams, hamlets, members and services a visit's entries name by id, by name:
    as far as the user may see them, like every other page (a visit's own are in scope
    of whoever may see the visit). Each key maps id (a service's code) to name."""
    ids: dict[str, set] = {key: set() for key in VISIT_NAMED_KEYS}
    for entry in entries:
        for key, value in entry.changes.items():
            if key in ids:
                pairs = value if entry.action == AuditEntry.Action.CHANGED else [value]
                for item in pairs:
                    ids[key].update(item if isinstance(item, list) else [item])
    ids = {key: {v for v in values if v is not None} for key, values in ids.items()}

    def names(queryset, field: str, key: str) -> dict:
        if not ids[key]:
            return {}  # no query for what no entry names
        return dict(queryset.filter(pk__in=ids[key]).values_list("pk", field))

    services = Service.objects.filter(code__in=ids["services"]) if ids["services"] else []
    return {
        "team": names(teams_visible(user), "name", "team"),
        "hamlet": names(hamlets_visible(user), "name", "hamlet"),
        "members": names(members_visible(user), "full_name", "members"),
        "services": {service.code: str(service) for service in services},
    }


def visit_history(visit: Visit, user: User) -> list[HistoryEntry]:
    """A visit's history page: its entries, what they name by id shown by name."""
    entries = visit_trail(visit)
    names = visit_trail_names(user, entries)

    def named(key: str, value: Any) -> Any:
        if key not in names:
            return value
        if isinstance(value, list):
            return [names[key].get(v, v) for v in value]
        return names[key].get(value, value)

    def readable(entry: AuditEntry) -> dict:
        if entry.action == AuditEntry.Action.CHANGED:
            return {k: [named(k, b), named(k, a)] for k, (b, a) in entry.changes.items()}
        return {k: named(k, v) for k, v in entry.changes.items()}

    shown = history_of(entries, readable)
    for row in shown:
        # Named as the visit reads now (its household and day may have changed since),
        # as the page always named them.
        row.record = str(visit)
    return shown
