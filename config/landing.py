"""Where each role lands, after logging in and on the home page: where its work is.

A team leader's is their team's page, which is the home page itself: the button to log
a visit first, then the team's visits of today and of this week, then the team's figures
of the month (nothing province-wide). A commune official lands on their commune's
dashboard, district staff on their district's, provincial staff and administrators on
the province's. A login that sees nothing (no scope yet, or a leader whose team was
dissolved) stays on the public home page, which tells them so. A login has one scope,
and a leader's login is one member's (Member.user is one-to-one), so one team's.
"""

from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditEntry, ScopeLevel, User
from accounts.scopes import scope_for
from accounts.services import audit_access
from dashboard.selectors import (
    PeriodKind,
    Tile,
    period_current,
    snapshot,
    team_figures,
    team_in_scope,
)
from outreach.selectors import team_visits_since

# The week's visits a leader's page lists; the visit list has them all.
WEEK_SHOWN = 30


def landing_url(user: User) -> str:
    """The page a signed-in user's work is on."""
    scope = scope_for(user)
    if scope.sees_nothing or scope.level == ScopeLevel.TEAM:
        return reverse("home")
    if scope.level in (ScopeLevel.COMMUNE, ScopeLevel.DISTRICT):
        # The dashboards name places by code; the units are cached with the figures.
        units = snapshot().units
        if scope.level == ScopeLevel.COMMUNE:
            page, unit = "commune", units.commune_by_id.get(min(scope.commune_ids))
        else:
            page, unit = "district", units.district_by_id.get(min(scope.district_ids))
        if unit is not None:
            return reverse(f"dashboard:{page}", args=[unit.code])
    return reverse("dashboard:overview")


class LoginView(auth_views.LoginView):
    """Django's login, which sends the user where their work is unless ?next= says
    where they were going."""

    def get_default_redirect_url(self) -> str:
        return landing_url(self.request.user)


def team_home(request: HttpRequest) -> HttpResponse:
    """A team leader's home page: the visit button, the team's visits of today and of
    this week (read from the visits themselves, so a visit just logged is there), and
    the team's figures of the month from the dashboard's summary tables."""
    user = request.user
    snap = snapshot()
    # A leader's scope names their team; were it ever several, the one the visit form
    # logs visits for, the first.
    team = team_in_scope(user, snap.units, min(scope_for(user).team_ids))
    today = timezone.localdate()
    week_start = today - timedelta(days=today.weekday())
    week = team_visits_since(user, team.id, week_start, today, shown=WEEK_SHOWN)
    shown = week.latest
    # The households' addresses are personal data, as on the visit list.
    audit_access(by=user, action=AuditEntry.Action.VIEWED, subject=request.path)
    period = period_current(PeriodKind.MONTH, today)
    figures = team_figures(user, snap, team, period).team
    context = {
        "team": team,
        "today": today,
        "week_start": week_start,
        "today_visits": [v for v in shown if v.visited_on == today],
        "earlier_visits": [v for v in shown if v.visited_on != today],
        "today_count": week.today,
        "week_count": week.count,
        "week_more": week.count > len(shown),
        "period": period,
        "as_of": snap.last_run_at,
        "figures_late": snap.figures_late(),
        "pending_since": snap.pending_since,
        "tiles": _team_tiles(figures),
    }
    return render(request, "team_home.html", context)


def _team_tiles(figures: dict) -> list[Tile]:
    return [
        Tile("visits", _("Visits this month"), figures["visits"], None),
        Tile(
            "residents_helped", _("Residents helped this month"), figures["residents_helped"], None
        ),
        Tile("visits_total", _("Visits since the team was founded"), figures["visits_total"], None),
        Tile(
            "households_reached",
            _("Households reached since the team was founded"),
            figures["households_reached"],
            None,
        ),
    ]
