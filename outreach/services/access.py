from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.models import ScopeLevel, User
from accounts.scopes import scope_for
from communes.models import Commune


class OutsideScope(PermissionDenied):
    """The user may not write this object: outside their scope or their role's rights."""


def ensure_can(user: User, permission: str, *, commune_id: int, team_id: int | None = None):
    """Refuse a write that the user's role or scope does not allow.

    Team leaders write only for their own team (or, for rows of no team such as a new
    household, in their team's commune); everyone else within the communes they see.
    """
    if not user.has_perm(permission):
        raise OutsideScope(_("Your role does not allow this change."))
    scope = scope_for(user)
    if scope.level == ScopeLevel.TEAM and team_id is not None:
        allowed = team_id in scope.team_ids
    elif scope.level in (ScopeLevel.COMMUNE, ScopeLevel.TEAM):
        # The scope names its communes: no query on the form's hot path.
        allowed = commune_id in scope.commune_ids
    elif scope.sees_everything:
        allowed = True
    else:
        allowed = scope.filter(Commune.objects.filter(pk=commune_id), commune="pk").exists()
    if not allowed:
        raise OutsideScope(_("This is outside the area you work in."))
