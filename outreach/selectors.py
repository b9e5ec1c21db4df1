"""Reads of teams, members, households and visits, always within the user's scope."""

from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import User
from accounts.scopes import scope_for
from communes.models import Hamlet
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
