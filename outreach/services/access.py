"""Where outreach's rows lie, for the one access check (accounts.access.ensure_can).

A team's rows (the team, its members, its visits) lie in the team and its commune:
team leaders change only their own team's, everyone else within the communes they see.
A household lies in its commune. Registered when the app starts (OutreachConfig.ready).
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Place, register_rule
from accounts.models import ScopeLevel, User
from accounts.scopes import Scope, scope_for

from ..models import Household, Member, Team, Visit
from .visits import EDIT_WINDOW


@dataclass(frozen=True)
class EditWindow:
    """The time a team leader has to change or delete a visit after entering it."""

    closes_at: datetime

    @property
    def is_open(self) -> bool:
        return timezone.now() <= self.closes_at

    @property
    def last_day(self) -> date:
        """The day it closes, where the campaign is (Asia/Ho_Chi_Minh)."""
        return timezone.localdate(self.closes_at)

    @property
    def days(self) -> int:
        return EDIT_WINDOW.days


def _edit_window(scope: Scope, visit: Visit) -> EditWindow | None:
    # Only leaders are bound by it: officials who may change a visit may at any time.
    if scope.level != ScopeLevel.TEAM:
        return None
    return EditWindow(closes_at=visit.created_at + EDIT_WINDOW)


def visit_edit_window(user: User, visit: Visit) -> EditWindow | None:
    """The window in which the user may change or delete the visit, open or closed; None
    when no window binds them (they are no team's leader, or may not change visits)."""
    if not user.has_perm("outreach.change_visit"):
        return None
    return _edit_window(scope_for(user), visit)


def _visit_edit_window(scope: Scope, action: str, visit: Visit) -> str | None:
    """Leaders change or delete their team's visits for 7 days after entering them."""
    window = _edit_window(scope, visit)
    if (
        action in ("outreach.change_visit", "outreach.delete_visit")
        and window is not None
        and not window.is_open
    ):
        return _("Visits can be changed for 7 days after they were entered.")
    return None


def access_rules_register() -> None:
    register_rule(Team, lambda team: Place(commune_id=team.commune_id, team_id=team.pk))
    register_rule(
        Member, lambda member: Place(commune_id=member.team.commune_id, team_id=member.team_id)
    )
    register_rule(Household, lambda household: Place(commune_id=household.commune_id))
    register_rule(
        Visit,
        lambda visit: Place(commune_id=visit.team.commune_id, team_id=visit.team_id),
        also=_visit_edit_window,
    )
