"""The one access path: fetch an object through the user's scope, and say whether the
user may do something to it.

Pages load what a URL names with `get_for_user`: outside the user's scope it is not
found (404), so nobody learns that it exists. Every service asks `ensure_can` before it
writes, and a page that offers a button asks `can`, the same question answered with
True or False. Permissions (from the role groups) say which kinds of objects a role
may change; the object's place says whether this one lies where the user works.

accounts knows nothing of the apps above it, so each app registers, when it starts,
where its models' objects lie (`register_rule`), as outreach registers the teams its
leaders lead (accounts.scopes.register_team_resolver).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from communes.models import Commune, Hamlet

from .models import ScopeLevel, User
from .scopes import Scope, scope_for

M = TypeVar("M", bound=Model)

ROLE_REFUSAL = _("Your role does not allow this change.")
OUTSIDE_REFUSAL = _("This is outside the area you work in.")


class NotAllowed(PermissionDenied):
    """A change refused: the role lacks the permission, or the object lies outside the
    user's scope or breaks its model's rule. The 403 page says why."""


def get_for_user(user: User, visible: Callable[[User], QuerySet[M]], /, **lookup: Any) -> M:
    """The one object of `visible(user)` (a selector of the user's scope) that matches
    `lookup`; anything else, inside the scope or not, is simply not found (404)."""
    queryset = visible(user)
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None


@dataclass(frozen=True)
class Place:
    """Where an object lies, as `ensure_can` reads it.

    The row of a team (a member, a visit) gives its team and the team's commune: team
    leaders change only their own team's. The row of a commune (a household, a hamlet,
    the commune itself) gives the commune: everyone changes it within the communes of
    their scope. An object kept at one level (a training session, the province's
    targets) gives that `level` and, below the province, its district or commune: only
    users of that level keep it, in their own district or commune.
    """

    commune_id: int | None = None
    team_id: int | None = None
    level: str | None = None
    district_id: int | None = None


@dataclass(frozen=True)
class Rule:
    """How `ensure_can` reads one model's objects: where each lies, what a user is told
    when their role lacks the permission (`refusal`) or the object lies outside their
    scope (`outside`), and any further rule of the model's (`also`, given the user's
    scope, the action and the object, returns a refusal or None)."""

    place: Callable[[Any], Place]
    refusal: str | Promise = ROLE_REFUSAL
    outside: str | Promise = OUTSIDE_REFUSAL
    also: Callable[[Scope, str, Any], str | Promise | None] | None = None


_rules: dict[type, Rule] = {}


def register_rule(
    model: type,
    place: Callable[[Any], Place],
    *,
    refusal: str | Promise = ROLE_REFUSAL,
    outside: str | Promise = OUTSIDE_REFUSAL,
    also: Callable[[Scope, str, Any], str | Promise | None] | None = None,
) -> None:
    """Say where `model`'s objects lie (and how a refusal reads); see `Rule`."""
    _rules[model] = Rule(place=place, refusal=refusal, outside=outside, also=also)


def _rule_of(obj: Any) -> Rule:
    for cls in type(obj).__mro__:
        if cls in _rules:
            return _rules[cls]
    raise LookupError(f"No access rule is registered for {type(obj).__name__}.")


def _within(scope: Scope, place: Place) -> bool:
    if scope.sees_everything:
        return True
    if scope.sees_nothing:
        return False
    if place.level is not None:
        if scope.level != place.level:
            return False
        if place.level == ScopeLevel.DISTRICT:
            return place.district_id in scope.district_ids
        if place.level == ScopeLevel.COMMUNE:
            return place.commune_id in scope.commune_ids
        # The portal serves one province: its staff keep all of the province's.
        return place.level == ScopeLevel.PROVINCE
    if scope.level == ScopeLevel.TEAM and place.team_id is not None:
        return place.team_id in scope.team_ids
    if scope.level in (ScopeLevel.COMMUNE, ScopeLevel.TEAM):
        # The scope names its communes: no query on a form's hot path.
        return place.commune_id in scope.commune_ids
    return scope.filter(Commune.objects.filter(pk=place.commune_id), commune="pk").exists()


def ensure_can(
    user: User | None, action: str, obj: Any, *, refusal: str | Promise | None = None
) -> None:
    """Refuse (NotAllowed, a 403) a change the user's role or scope does not allow.

    `action` is the permission the change needs ("outreach.change_team"); `obj` is the
    object changed, or the one a new object goes into (the team of a new member, the
    hamlet of a new household); None for a change that lies in no place, which the
    permission alone decides. `refusal` replaces what a user whose role lacks the
    permission is told. `user=None` is the portal itself (seed_demo, the retention
    job), which may do anything.
    """
    if user is None:
        return
    rule = _rule_of(obj) if obj is not None else None
    # Refusals are put in words now, in the language of the request or task that meets them.
    if not user.has_perm(action):
        raise NotAllowed(str(refusal or (rule.refusal if rule else ROLE_REFUSAL)))
    if rule is None:
        return
    scope = scope_for(user)
    if not _within(scope, rule.place(obj)):
        raise NotAllowed(str(rule.outside))
    if rule.also is not None and (reason := rule.also(scope, action, obj)) is not None:
        raise NotAllowed(str(reason))


def can(user: User, action: str, obj: Any) -> bool:
    """Whether to offer a change (a button, a form); `ensure_can` decides when it is made."""
    try:
        ensure_can(user, action, obj)
    except NotAllowed:
        return False
    return True


# The places of the communes app's rows, which accounts may read.
register_rule(Commune, lambda commune: Place(commune_id=commune.pk))
register_rule(Hamlet, lambda hamlet: Place(commune_id=hamlet.commune_id))
