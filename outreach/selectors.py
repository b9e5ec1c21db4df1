"""Reads of teams, members, households and visits, always within the user's scope."""

from collections import defaultdict
from collections.abc import Collection
from datetime import date

from django.db.models import (
    Case,
    Count,
    F,
    Max,
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
from django.http import Http404

from accounts.models import User
from accounts.phone import InvalidPhone, looks_like_phone, normalize_phone
from accounts.scopes import scope_for
from communes.models import Hamlet, VietnameseOrder
from communes.text import fold

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


def get_in_scope_or_404(queryset: QuerySet, **lookup):
    """One object of a scoped queryset; anything outside the scope is simply not found."""
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None


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
    if hamlet_id:
        queryset = queryset.filter(hamlet_id=hamlet_id)
    if folded:
        queryset = queryset.filter(
            Q(address_folded__startswith=folded) | Q(address_folded__contains=f" {folded}")
        )
    return queryset.order_by("address_folded")[:limit]


def visits_filtered(
    user: User,
    *,
    start: date | None = None,
    end: date | None = None,
    hamlet_id: int | None = None,
    service_id: int | None = None,
    member_id: int | None = None,
) -> QuerySet[Visit]:
    queryset = visits_visible(user)
    if start:
        queryset = queryset.filter(visited_on__gte=start)
    if end:
        queryset = queryset.filter(visited_on__lte=end)
    if hamlet_id:
        queryset = queryset.filter(household__hamlet_id=hamlet_id)
    if service_id:
        queryset = queryset.filter(services__id=service_id)
    if member_id:
        queryset = queryset.filter(members__id=member_id)
    return queryset.distinct() if (service_id or member_id) else queryset


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


def teams_listed(user: User, filters: dict) -> QuerySet[Team]:
    """The team list: teams in scope with their active members counted and their leader."""
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
    status = filters.get("status", "active")
    if status == "active":
        teams = teams.active()
    elif status == "dissolved":
        teams = teams.filter(dissolved_on__isnull=False)
    if "q" in filters:
        teams = teams.filter(name_folded__contains=fold(filters["q"]))
    if "commune" in filters:
        teams = teams.filter(commune=filters["commune"])
    if "hamlet" in filters:
        teams = teams.filter(hamlet=filters["hamlet"])
    return teams.order_by("commune__code", VietnameseOrder("name"), "pk")


def members_listed(user: User, filters: dict) -> QuerySet[Member]:
    """The member list: members in scope, by commune, team and role."""
    members = members_visible(user)
    status = filters.get("status", "active")
    if status == "active":
        members = members.filter(is_active=True)
    elif status == "former":
        members = members.filter(is_active=False)
    if "q" in filters:
        members = members_matching(members, filters["q"])
    if "commune" in filters:
        members = members.filter(team__commune=filters["commune"])
    if "team" in filters:
        members = members.filter(team=filters["team"])
    if "role" in filters:
        members = members.filter(role=filters["role"])
    if "zalo" in filters:
        members = members.filter(on_zalo_oa=filters["zalo"] == "yes")
    return members.order_by(
        "team__commune__code",
        VietnameseOrder("team__name"),
        "team_id",
        ROLE_ORDER,
        VietnameseOrder("full_name"),
        "pk",
    )


def hamlets_listed(user: User, filters: dict) -> QuerySet[Hamlet]:
    """The hamlet list: hamlets in scope with their active teams and households counted."""
    hamlets = hamlets_visible(user).annotate(
        team_count=_count_of(Team.objects.active(), "hamlet"),
        household_count=_count_of(Household.objects.all(), "hamlet"),
    )
    if "q" in filters:
        hamlets = hamlets.filter(name_folded__contains=fold(filters["q"]))
    if "commune" in filters:
        hamlets = hamlets.filter(commune=filters["commune"])
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
# The dashboard recomputes (commune, day) cells from these reads and stores the results
# in its summary tables. Each groups in SQL and returns plain rows. `communes` and
# `days` narrow the cells (None: all); `start`/`end` narrow the days to a range. A
# visit's commune is its team's, which the visit service keeps equal to its household's.


def _cells(
    queryset: QuerySet,
    *,
    commune: str,
    day: str,
    communes: Collection[int] | None,
    days: Collection[date] | None,
    start: date | None,
    end: date | None,
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


def _visits_in(**cells) -> QuerySet[Visit]:
    return _cells(Visit.objects.all(), commune="team__commune_id", day="visited_on", **cells)


def _first_visits_in(**cells) -> QuerySet[Visit]:
    """The visits that are their household's first (the earliest day, then the lowest id)."""
    first = (
        Visit.objects.filter(household=OuterRef("household"))
        .order_by("visited_on", "pk")
        .values("pk")[:1]
    )
    return _visits_in(**cells).filter(pk=Subquery(first))


def visit_figures_by_commune_day(**cells) -> dict[tuple[int, date], dict]:
    """Visits, first visits, residents helped, teams and members out, per (commune, day)."""
    figures: dict[tuple[int, date], dict] = {}
    rows = (
        _visits_in(**cells)
        .values("team__commune_id", "visited_on")
        .annotate(
            visits=Count("pk"),
            residents_helped=Sum("residents_helped"),
            teams_visiting=Count("team", distinct=True),
        )
    )
    for row in rows:
        key = (row.pop("team__commune_id"), row.pop("visited_on"))
        figures[key] = {**row, "households_first": 0, "members_visiting": 0}
    first = (
        _first_visits_in(**cells)
        .values("team__commune_id", "visited_on")
        .annotate(n=Count("pk"))
        .values_list("team__commune_id", "visited_on", "n")
    )
    for commune_id, day, n in first:
        figures[(commune_id, day)]["households_first"] = n
    members = (
        _cells(
            Visit.members.through.objects.all(),
            commune="visit__team__commune_id",
            day="visit__visited_on",
            **cells,
        )
        .values("visit__team__commune_id", "visit__visited_on")
        .annotate(n=Count("member", distinct=True))
        .values_list("visit__team__commune_id", "visit__visited_on", "n")
    )
    for commune_id, day, n in members:
        figures[(commune_id, day)]["members_visiting"] = n
    return figures


def visits_by_commune_day_service(**cells) -> QuerySet:
    """Rows (commune id, day, service id, visits) for visits that helped with a service."""
    return (
        _cells(
            Visit.services.through.objects.all(),
            commune="visit__team__commune_id",
            day="visit__visited_on",
            **cells,
        )
        .values("visit__team__commune_id", "visit__visited_on", "service_id")
        .annotate(n=Count("visit"))
        .values_list("visit__team__commune_id", "visit__visited_on", "service_id", "n")
    )


def visit_figures_by_hamlet_day(**cells) -> dict[tuple[int, date], dict]:
    """Visits, first visits and residents helped per (hamlet of the household, day)."""
    figures: dict[tuple[int, date], dict] = {}
    rows = (
        _visits_in(**cells)
        .values("household__hamlet_id", "visited_on")
        .annotate(
            commune_id=Min("household__commune_id"),
            visits=Count("pk"),
            residents_helped=Sum("residents_helped"),
        )
    )
    for row in rows:
        key = (row.pop("household__hamlet_id"), row.pop("visited_on"))
        figures[key] = {**row, "households_first": 0}
    first = (
        _first_visits_in(**cells)
        .values("household__hamlet_id", "visited_on")
        .annotate(n=Count("pk"))
        .values_list("household__hamlet_id", "visited_on", "n")
    )
    for hamlet_id, day, n in first:
        figures[(hamlet_id, day)]["households_first"] = n
    return figures


def visit_figures_by_team_day(**cells) -> QuerySet:
    """Rows per (team, day): commune, visits, distinct households, residents helped."""
    return (
        _visits_in(**cells)
        .values("team_id", "visited_on")
        .annotate(
            commune_id=Min("team__commune_id"),
            visits=Count("pk"),
            households=Count("household", distinct=True),
            residents_helped=Sum("residents_helped"),
        )
    )


def team_totals(communes: Collection[int] | None = None) -> QuerySet[Team]:
    """Every team of the communes with its visits, distinct households and last visit."""
    teams = Team.objects.all()
    if communes is not None:
        teams = teams.filter(commune_id__in=list(communes))
    return (
        teams.order_by()
        .values("pk", "commune_id")
        .annotate(
            visit_count=Count("visits"),
            households_reached=Count("visits__household", distinct=True),
            last_visited_on=Max("visits__visited_on"),
        )
    )


def roster_changes_by_commune_day(**cells) -> dict[tuple[int, date], dict]:
    """Teams formed and dissolved, members who joined and left, and members who joined
    and left the Zalo OA channel, per (commune, day).

    A member counts on the Zalo OA from the later of joining the team and joining the
    channel (the channel date may be unknown) until they leave the team.
    """
    figures: dict[tuple[int, date], dict] = defaultdict(dict)
    zalo = Member.objects.filter(on_zalo_oa=True).annotate(
        zalo_from=Greatest("joined_on", Coalesce("zalo_joined_on", "joined_on"))
    )
    zalo = zalo.filter(Q(left_on__isnull=True) | Q(left_on__gte=F("zalo_from")))
    counts = {
        "teams_formed": (Team.objects.all(), "commune_id", "formed_on"),
        "teams_dissolved": (Team.objects.all(), "commune_id", "dissolved_on"),
        "members_joined": (Member.objects.all(), "team__commune_id", "joined_on"),
        "members_left": (Member.objects.all(), "team__commune_id", "left_on"),
        "zalo_joined": (zalo, "team__commune_id", "zalo_from"),
        "zalo_left": (zalo, "team__commune_id", "left_on"),
    }
    for name, (queryset, commune, day) in counts.items():
        rows = (
            _cells(queryset, commune=commune, day=day, **cells)
            .filter(**{f"{day}__isnull": False})
            .values_list(commune, day)
            .annotate(n=Count("pk"))
        )
        for commune_id, on, n in rows:
            figures[(commune_id, on)][name] = n
    return figures


def readiness_by_commune(communes: Collection[int] | None = None) -> dict[int, dict]:
    """Per commune and readiness item: households whose current answer is yes, and
    households with any answer."""
    households = Household.objects.all()
    if communes is not None:
        households = households.filter(commune_id__in=list(communes))
    aggregates = {}
    for item in READINESS_FIELDS:
        aggregates[f"{item}__yes"] = Count("pk", filter=Q(**{item: True}))
        aggregates[f"{item}__answered"] = Count("pk", filter=Q(**{f"{item}__isnull": False}))
    rows = households.order_by().values("commune_id").annotate(**aggregates)
    return {
        row["commune_id"]: {
            item: (row[f"{item}__yes"], row[f"{item}__answered"]) for item in READINESS_FIELDS
        }
        for row in rows
    }


def outreach_span() -> tuple[date | None, date | None]:
    """The first and last day any outreach figure falls on (visits, teams, members)."""
    visits = Visit.objects.aggregate(first=Min("visited_on"), last=Max("visited_on"))
    teams = Team.objects.aggregate(
        first=Min("formed_on"), last=Max("formed_on"), dissolved=Max("dissolved_on")
    )
    members = Member.objects.aggregate(
        first=Min("joined_on"),
        last=Max("joined_on"),
        left=Max("left_on"),
        zalo_first=Min("zalo_joined_on"),
        zalo_last=Max("zalo_joined_on"),
    )
    firsts = [visits["first"], teams["first"], members["first"], members["zalo_first"]]
    lasts = [visits["last"], teams["last"], teams["dissolved"], members["last"], members["left"]]
    lasts.append(members["zalo_last"])
    firsts = [d for d in firsts if d]
    lasts = [d for d in lasts if d]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)
