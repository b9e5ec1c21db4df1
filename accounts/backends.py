"""Permissions read once and kept in the cache, not from the database on every request.

Django's ModelBackend reads a user's own permissions and their groups' permissions (two
queries) on every request that asks has_perm, though roles change a few times a year.
This backend keeps both sets in the cache under a generation that every change of a
user's groups or permissions, of a group's permissions, or a deleted group or
permission renews (at once, and again when the change commits), so that no process
reads a set from before the change. Without the cache (Redis away) it reads the
database, as Django does.
"""

import uuid

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

from .models import User

GENERATION_KEY = "accounts:permissions-generation"
CACHE_SECONDS = 3600


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


class CachedPermissionBackend(ModelBackend):
    def get_user(self, user_id):
        """The signed-in user of a request, with the commune of a commune official's
        scope in the same query: the scope (accounts.scopes) names its district, which
        every page asks for."""
        try:
            user = User._default_manager.select_related("scope_commune").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def _sets(self, user_obj) -> tuple[set[str], set[str]]:
        """(the user's own permissions, their groups'), from the cache when it has them."""
        if not hasattr(user_obj, "_cached_perm_sets"):
            # A superuser has every permission: another entry than their ordinary one.
            key = f"accounts:permissions:{_generation()}:{user_obj.pk}:{int(user_obj.is_superuser)}"
            sets = cache.get(key)
            if sets is None:
                sets = (
                    super().get_user_permissions(user_obj),
                    super().get_group_permissions(user_obj),
                )
                cache.set(key, sets, timeout=CACHE_SECONDS)
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
