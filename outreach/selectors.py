"""Reads of teams, members, households and visits, always within the user's scope."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import AuditEntry, User
from accounts.scopes import scope_for
from accounts.selectors import HistoryEntry, audit_entries_of, history_of
from communes.models import Commune, Hamlet, VietnameseOrder
from core.cache import Generation
from core.phone import InvalidPhone, looks_like_phone, normalize_phone
from core.text import fold

from .models import Household, Member, Service, Team, Visit


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


@dataclass(frozen=True)
class TeamVisitsSince:
    """A team's visits from a day to today: how many, how many today, and the latest
    `shown` of them (with their households and hamlets)."""

    count: int
    today: int
    latest: list[Visit]


def team_visits_since(
    user: User, team_id: int, start: date, today: date, *, shown: int
) -> TeamVisitsSince:
    """The team's visits the user may see from `start` to `today`, in two queries."""
    visits = visits_visible(user).filter(team_id=team_id, visited_on__range=(start, today))
    counts = visits.aggregate(today=Count("pk", filter=Q(visited_on=today)), all=Count("pk"))
    latest = list(
        visits.select_related(None)
        .select_related("household__hamlet")
        .prefetch_related(None)
        .order_by("-visited_on", "-pk")[:shown]
    )
    return TeamVisitsSince(count=counts["all"], today=counts["today"], latest=latest)


def services_active() -> QuerySet[Service]:
    return Service.objects.filter(is_active=True)


# --- The visit form's choices, kept in the cache per team ---------------------------

# Renewed by any save, delete or bulk write of the models below (OutreachConfig.ready).
VISIT_CHOICES = Generation("outreach:visit-choices-generation")
VISIT_CHOICES_READS = (Team, Member, Hamlet, Service, Commune)
VISIT_CHOICES_SECONDS = 3600


@dataclass(frozen=True)
class VisitChoices:
    """What a team's new-visit form offers: the team (with its commune), its commune's
    active hamlets, its active members and the catalogue's active services."""

    team: Team
    hamlets: list[Hamlet]
    members: list[Member]
    services: list[Service]


def _visit_choices_read(team_id: int) -> VisitChoices | None:
    team = Team.objects.select_related("commune").filter(pk=team_id).first()
    if team is None:
        return None
    hamlets = list(
        Hamlet.objects.select_related("commune").filter(commune_id=team.commune_id, is_active=True)
    )
    # A member's name is all the form shows, and their team and being active all the
    # visit service checks: no more of their personal data goes into the cache.
    members = list(
        Member.objects.filter(team_id=team.pk, is_active=True).only(
            "id", "team_id", "full_name", "is_active"
        )
    )
    for member in members:
        member.team = team
    return VisitChoices(
        team=team, hamlets=hamlets, members=members, services=list(services_active())
    )


def visit_choices(team_id: int) -> VisitChoices | None:
    """The team's visit form choices (None: no such team), from the cache when it has
    them: a leader's form, shown or sent, then reads none of these rows.

    Any change of a team, member, hamlet, service or commune renews the generation they
    are kept under (at once and on commit), so the next form neither offers nor accepts
    what was true before: the form validates against exactly these lists. (A write made
    while Redis was away could not renew it: what was cached before expires within
    VISIT_CHOICES_SECONDS, as the permission sets do.)
    """
    key = f"outreach:visit-choices:{VISIT_CHOICES.current()}:{team_id}"
    choices = cache.get(key)
    if choices is None:
        choices = _visit_choices_read(team_id)
        if choices is not None:
            cache.set(key, choices, timeout=VISIT_CHOICES_SECONDS)
    return choices


def visit_choices_for_leader(user: User) -> VisitChoices | None:
    """The choices of the team a team leader logs visits for (the first, if they lead
    several); None for a user who leads no team."""
    team_ids = scope_for(user).team_ids
    return visit_choices(min(team_ids)) if team_ids else None


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


def households_listed(user: User) -> QuerySet[Household]:
    """The household list: households in scope, by hamlet and address.

    The list's filter bar (outreach.filters.HouseholdFilter) narrows it."""
    return households_visible(user).order_by("hamlet__name_folded", "address_folded", "pk")


def with_visits_counted(households: QuerySet[Household]) -> QuerySet[Household]:
    """`households` with their visits counted (`visit_count`) and their last visit's day
    (`last_visit`), each a subquery: counting the list leaves them out, and a page works
    them out for its own rows only."""
    visits = Visit.objects.filter(household=OuterRef("pk")).order_by().values("household")
    return households.annotate(
        visit_count=Coalesce(Subquery(visits.annotate(n=Count("pk")).values("n")), 0),
        last_visit=Subquery(visits.annotate(day=Max("visited_on")).values("day")),
    )


def households_searched(queryset: QuerySet[Household], text: str) -> QuerySet[Household]:
    """Households whose address (ignoring accents) or head's name contains `text`."""
    text = text.strip()
    folded = " ".join(fold(text).replace(",", " ").split())
    return queryset.filter(Q(address_folded__contains=folded) | Q(head_name__icontains=text))


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
