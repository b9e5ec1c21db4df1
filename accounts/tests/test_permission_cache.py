"""A user's permissions are read from the database once, and never after they changed."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.tests.factories import UserFactory

PERMISSION = "outreach.add_visit"


def _fresh(user: User) -> User:
    # A new request loads the user anew: nothing kept on the object.
    return User.objects.get(pk=user.pk)


@pytest.fixture
def group():
    group = Group.objects.create(name="Test visitors")
    group.permissions.add(Permission.objects.get(codename="add_visit"))
    return group


@pytest.mark.django_db
def test_a_second_request_reads_no_permission_from_the_database(group):
    user = UserFactory()
    user.groups.add(group)
    assert _fresh(user).has_perm(PERMISSION)
    again = _fresh(user)
    with CaptureQueriesContext(connection) as queries:
        assert again.has_perm(PERMISSION)
    assert len(queries) == 0


@pytest.mark.django_db
def test_a_group_leaving_or_losing_a_permission_is_seen_at_once(group):
    user = UserFactory()
    user.groups.add(group)
    assert _fresh(user).has_perm(PERMISSION)

    group.permissions.clear()
    assert not _fresh(user).has_perm(PERMISSION)
    group.permissions.add(Permission.objects.get(codename="add_visit"))
    assert _fresh(user).has_perm(PERMISSION)
    user.groups.remove(group)
    assert not _fresh(user).has_perm(PERMISSION)
    user.user_permissions.add(Permission.objects.get(codename="add_visit"))
    assert _fresh(user).has_perm(PERMISSION)


@pytest.mark.django_db
def test_a_deleted_group_takes_its_permissions_with_it(group):
    user = UserFactory()
    user.groups.add(group)
    assert _fresh(user).has_perm(PERMISSION)
    group.delete()
    assert not _fresh(user).has_perm(PERMISSION)


@pytest.mark.django_db
def test_an_inactive_user_has_no_permission_even_if_cached(group):
    user = UserFactory()
    user.groups.add(group)
    assert _fresh(user).has_perm(PERMISSION)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert not _fresh(user).has_perm(PERMISSION)
