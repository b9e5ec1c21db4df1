"""Where outreach's rows lie, for the one access check (accounts.access.ensure_can).

A team's rows (the team, its members, its visits) lie in the team and its commune:
team leaders change only their own team's, everyone else within the communes they see.
A household lies in its commune. Registered when the app starts (OutreachConfig.ready).
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Place, register_rule
from accounts.models import ScopeLevel
from accounts.scopes import Scope

from ..models import Household, Member, Team, Visit
from .visits import EDIT_WINDOW


def _visit_edit_window(scope: Scope, action: str, visit: Visit) -> str | None:
    """Leaders change or delete their team's visits for 7 days after entering them."""
    if (
        action in ("outreach.change_visit", "outreach.delete_visit")
        and scope.level == ScopeLevel.TEAM
        and timezone.now() - visit.created_at > EDIT_WINDOW
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
