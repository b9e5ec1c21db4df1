"""The one answer to "what may this user see?", used by every selector.

A user's scope is the province, a district, a commune or a team. Django permissions
(from the role groups) say which kinds of objects a user may change; the scope says
which ones. Selectors pass the lookup paths of their queryset, for example

    scope_for(user).filter(Visit.objects.all(), commune="household__commune", team="team")

and get back only the rows inside the scope. Superusers see everything; a user with no
scope sees nothing.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Model, Q, QuerySet

from communes.models import Commune, District
from core.cache import Generation

from .models import ScopeLevel, User

ALL = "all"
NONE = "none"

# (team id, commune id, district id) for each team a team-level user leads.
TeamRow = tuple[int, int, int]
_team_resolver: Callable[[User], Iterable[TeamRow]] | None = None

# A team leader's rows are kept in the cache per user, under a generation that any change
# of the rows the resolver reads renews (the models it was registered with).
TEAM_ROWS = Generation("accounts:team-rows-generation")
TEAM_ROWS_SECONDS = 3600


def register_team_resolver(
    resolver: Callable[[User], Iterable[TeamRow]], *, reads: Iterable[type[Model]] = ()
) -> None:
    """Let the outreach app say which teams a team-level user leads.

    Teams live in outreach, which depends on accounts and not the other way round, so
    outreach registers this when it starts. Until it does, a team scope sees nothing.
    `reads`: the models whose rows the resolver's answer depends on. Its answers are
    cached per user, and read again once any row of those is saved, deleted or written
    in bulk (core.cache.Generation.renew_on).
    """
    global _team_resolver
    _team_resolver = resolver
    TEAM_ROWS.renew_on(*reads)


def _team_rows(user: User) -> tuple[TeamRow, ...]:
    """The resolver's rows for the user, from the cache when it has them.

    Keyed by the user alone: the rows depend on the resolver's models, not on the user's
    own fields, and whether the resolver is asked at all (the user's scope level, being
    active) is read from the user's row on every request.
    """
    if user.pk is None:
        return tuple(tuple(row) for row in _team_resolver(user))
    key = f"accounts:team-rows:{TEAM_ROWS.current()}:{user.pk}"
    rows = cache.get(key)
    if rows is None:
        rows = tuple(tuple(row) for row in _team_resolver(user))
        cache.set(key, rows, timeout=TEAM_ROWS_SECONDS)
    return rows


def _join(path: str, name: str) -> str:
    return name if path in ("", "pk") else f"{path}__{name}"


@dataclass(frozen=True)
class Scope:
    level: str
    province_id: int | None = None
    district_ids: frozenset[int] = field(default_factory=frozenset)
    commune_ids: frozenset[int] = field(default_factory=frozenset)
    team_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def sees_everything(self) -> bool:
        return self.level == ALL

    @property
    def sees_nothing(self) -> bool:
        return self.level == NONE

    @property
    def cache_key(self) -> str:
        """The scope as text, for the keys of what is cached per scope: two users whose
        scopes are equal share them, any other difference separates them."""
        return ":".join(
            [
                self.level,
                str(self.province_id or ""),
                ",".join(map(str, sorted(self.district_ids))),
                ",".join(map(str, sorted(self.commune_ids))),
                ",".join(map(str, sorted(self.team_ids))),
            ]
        )

    def q(
        self, *, commune: str | None = None, district: str | None = None, team: str | None = None
    ) -> Q:
        """A filter for the rows in scope, given the lookup paths of the queryset's model.

        `commune` is the path to a commune (its district and province follow from it),
        `district` the path to a district for rows that belong to a district and not a
        commune, `team` the path to a team. Use "pk" for the model itself.
        """
        commune_path = commune or (_join(team, "commune") if team is not None else None)
        district_path = district or (
            _join(commune_path, "district") if commune_path is not None else None
        )
        if district_path is None:
            raise ValueError("A scope filter needs at least one lookup path.")
        if self.level == ALL:
            return Q()
        if self.level == NONE:
            return Q(pk__in=[])
        if self.level == ScopeLevel.PROVINCE:
            return Q(**{_join(district_path, "province"): self.province_id})
        if self.level == ScopeLevel.TEAM and team is not None:
            return Q(**{f"{team}__in": self.team_ids})
        if self.level in (ScopeLevel.COMMUNE, ScopeLevel.TEAM) and commune_path is not None:
            return Q(**{f"{commune_path}__in": self.commune_ids})
        # District staff, and the district of a commune or team for rows that belong to
        # a district (a district training session, the district itself).
        return Q(**{f"{district_path}__in": self.district_ids})

    def filter(self, queryset: QuerySet, **paths: str) -> QuerySet:
        """The rows of `queryset` inside the scope; see `q` for the paths."""
        if self.level == NONE:
            return queryset.none()
        return queryset.filter(self.q(**paths))

    def districts(self) -> QuerySet[District]:
        return self.filter(District.objects.all(), district="pk")

    def communes(self) -> QuerySet[Commune]:
        return self.filter(Commune.objects.select_related("district"), commune="pk")

    def contains_commune(self, commune: Commune) -> bool:
        """Whether a commune lies in the scope, without a query."""
        if self.level == ALL:
            return True
        if self.level == NONE:
            return False
        if self.level == ScopeLevel.PROVINCE:
            return commune.district.province_id == self.province_id
        if self.level == ScopeLevel.DISTRICT:
            return commune.district_id in self.district_ids
        return commune.pk in self.commune_ids


def scope_for(user: User) -> Scope:
    """The user's scope, computed once per user object (so once per request)."""
    cached = getattr(user, "_portal_scope", None)
    if cached is not None:
        return cached
    scope = _compute_scope(user)
    if getattr(user, "pk", None) is not None:
        user._portal_scope = scope
    return scope


def _compute_scope(user: User) -> Scope:
    if not user.is_authenticated or not user.is_active:
        return Scope(NONE)
    if user.is_superuser:
        return Scope(ALL)
    level = user.scope_level
    if level == ScopeLevel.PROVINCE:
        return Scope(level, province_id=user.scope_province_id)
    if level == ScopeLevel.DISTRICT:
        return Scope(level, district_ids=frozenset({user.scope_district_id}))
    if level == ScopeLevel.COMMUNE:
        # Read with the user by the login's backend (accounts/backends.py): no query.
        district_id = getattr(user, "scope_commune_district_id", None)
        if district_id is None:
            district_id = user.scope_commune.district_id
        return Scope(
            level,
            district_ids=frozenset({district_id}),
            commune_ids=frozenset({user.scope_commune_id}),
        )
    if level == ScopeLevel.TEAM and _team_resolver is not None:
        rows = _team_rows(user)
        if rows:
            return Scope(
                level,
                team_ids=frozenset(r[0] for r in rows),
                commune_ids=frozenset(r[1] for r in rows),
                district_ids=frozenset(r[2] for r in rows),
            )
    return Scope(NONE)
