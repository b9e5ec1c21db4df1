"""Permissions read once and kept in the cache, not from the database on every request.

Django's ModelBackend reads a user's own permissions and their groups' permissions (two
queries) on every request that asks has_perm, though roles change a few times a year.
This backend keeps both sets in the cache under a generation that every change of a
user's groups or permissions, of a group's permissions, or a deleted group or
permission renews (at once, and again when the change commits), so that no process
reads a set from before the change. Without the cache (Redis away) it reads the
database, as Django does.
"""

import functools
import uuid

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import connection, transaction

from .models import User

GENERATION_KEY = "accounts:permissions-generation"
CACHE_SECONDS = 3600


def permissions_key(user_pk) -> str:
    """A user's permission sets, with the generation they were read under: one key per
    user whatever the generation, so that a request can read it ahead with the
    generation (core.cache.read_ahead), before either is known."""
    return f"accounts:permissions:{user_pk}"


def permissions_read_ahead_keys(request, view) -> list[str]:
    """What a signed-in request's permission checks read, for core.cache.read_ahead."""
    user_pk = request.session.get(SESSION_KEY)
    return [GENERATION_KEY, permissions_key(user_pk)] if user_pk else []


def _generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex
        # add(): two processes starting together agree on one generation.
        if not cache.add(GENERATION_KEY, generation, timeout=None):
            generation = cache.get(GENERATION_KEY) or generation
    return generation


def _renew() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def permissions_changed(**_kwargs) -> None:
    """Every cached permission set is read again (receiver of the changes above)."""
    _renew()
    # A process that read the old sets between this change and its commit would keep
    # them under the new generation: renew it once more after the commit.
    transaction.on_commit(_renew)


@functools.cache
def _user_sql() -> str:
    user, commune = User._meta, User._meta.get_field("scope_commune").related_model._meta
    pk = connection.ops.quote_name(user.pk.column)
    return (
        f"SELECT u.*, c.{connection.ops.quote_name(commune.get_field('district').column)}"
        f" AS scope_commune_district_id"
        f" FROM {connection.ops.quote_name(user.db_table)} u"
        f" LEFT JOIN {connection.ops.quote_name(commune.db_table)} c"
        f" ON c.{connection.ops.quote_name(commune.pk.column)}"
        f" = u.{connection.ops.quote_name(user.get_field('scope_commune').column)}"
        f" WHERE u.{pk} = %s"
    )


class CachedPermissionBackend(ModelBackend):
    def get_user(self, user_id):
        """The signed-in user of a request, with the district of a commune official's
        commune in the same query: the scope (accounts.scopes) names it, and every page
        asks for the scope.

        A raw query on every request: the ORM spends longer building this one (a join
        and the user's columns, ~0.7 ms) than the database answering it."""
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        user = next(iter(User._default_manager.raw(_user_sql(), [user_id])), None)
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None

    def _sets(self, user_obj) -> tuple[set[str], set[str]]:
        """(the user's own permissions, their groups'), from the cache when it has them
        under the current generation."""
        if not hasattr(user_obj, "_cached_perm_sets"):
            generation = _generation()
            entry = cache.get(permissions_key(user_obj.pk))
            # A superuser has every permission: their entry is not their ordinary one.
            if entry is not None and entry[:2] == (generation, user_obj.is_superuser):
                sets = entry[2]
            else:
                sets = (
                    super().get_user_permissions(user_obj),
                    super().get_group_permissions(user_obj),
                )
                cache.set(
                    permissions_key(user_obj.pk),
                    (generation, user_obj.is_superuser, sets),
                    timeout=CACHE_SECONDS,
                )
            user_obj._cached_perm_sets = sets
        return user_obj._cached_perm_sets

    def get_user_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return self._sets(user_obj)[0]

    def get_group_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return self._sets(user_obj)[1]
