"""Reads of teams, members, households and visits, always within the user's scope."""

from datetime import date

from django.db.models import Case, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import User
from accounts.phone import InvalidPhone, looks_like_phone, normalize_phone
from accounts.scopes import scope_for
from communes.models import Hamlet, VietnameseOrder
from communes.text import fold

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
