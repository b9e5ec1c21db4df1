"""Writes to users: creating logins and setting their scope with its role group."""

from django.contrib.auth.models import Group
from django.db import transaction

from communes.models import Commune, District, Province

from .models import ScopeLevel, User
from .roles import ROLE_FOR_LEVEL


def user_role_sync(*, user: User) -> None:
    """Put the user in the role group of their scope level and in no other role group.

    Groups that are not roles (added by admins for other purposes) are left alone.
    """
    role_names = set(ROLE_FOR_LEVEL.values())
    wanted = ROLE_FOR_LEVEL.get(user.scope_level)
    current = set(user.groups.filter(name__in=role_names).values_list("name", flat=True))
    if current - {wanted}:
        user.groups.remove(*Group.objects.filter(name__in=current - {wanted}))
    if wanted and wanted not in current:
        user.groups.add(Group.objects.get(name=wanted))


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    full_name: str = "",
    scope_level: str = "",
    province: Province | None = None,
    district: District | None = None,
    commune: Commune | None = None,
    is_demo: bool = False,
) -> User:
    """Create a login with its scope and role. No password means none can be used."""
    user = User(
        username=username,
        full_name=full_name,
        scope_level=scope_level,
        scope_province=province if scope_level == ScopeLevel.PROVINCE else None,
        scope_district=district if scope_level == ScopeLevel.DISTRICT else None,
        scope_commune=commune if scope_level == ScopeLevel.COMMUNE else None,
        is_demo=is_demo,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    user_role_sync(user=user)
    return user


@transaction.atomic
def user_save(*, user: User) -> User:
    """Validate and save a user edited in admin, keeping the role group in line."""
    user.full_clean(exclude=["password"])
    user.save()
    user_role_sync(user=user)
    return user
