"""The history of a team, a member or a visit: who changed what, side by side."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from accounts.access import get_for_user
from accounts.decorators import permission_needed

from ..selectors import (
    member_history,
    members_visible,
    team_history,
    teams_visible,
    visit_history,
    visits_visible,
)

HISTORY_PERMISSION = "accounts.view_auditentry"


def _history_page(request, *, record, back_url: str, entries) -> HttpResponse:
    return render(
        request, "history.html", {"record": record, "back_url": back_url, "entries": entries}
    )


@require_GET
@permission_needed(HISTORY_PERMISSION)
def team_history_page(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_for_user(request.user, teams_visible, pk=pk)
    return _history_page(
        request,
        record=team,
        back_url=reverse("outreach:team_detail", args=[team.pk]),
        entries=team_history(team),
    )


@require_GET
@permission_needed(HISTORY_PERMISSION)
def member_history_page(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_for_user(request.user, members_visible, pk=pk)
    return _history_page(
        request,
        record=member,
        back_url=reverse("outreach:member_detail", args=[member.pk]),
        entries=member_history(member),
    )


@require_GET
@permission_needed(HISTORY_PERMISSION)
def visit_history_page(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_for_user(request.user, visits_visible, pk=pk)
    return _history_page(
        request,
        record=visit,
        back_url=reverse("outreach:visit_detail", args=[visit.pk]),
        entries=visit_history(visit, request.user),
    )


urlpatterns = [
    path("teams/<int:pk>/history/", team_history_page, name="team_history"),
    path("members/<int:pk>/history/", member_history_page, name="member_history"),
    path("visits/<int:pk>/history/", visit_history_page, name="visit_history"),
]
