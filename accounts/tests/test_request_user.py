"""How a request finds its session and its user (accounts/sessions.py and the login's
backend, accounts/backends.py): each in one prepared statement, and nothing kept that a
change could leave stale."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from accounts.backends import CachedPermissionBackend
from accounts.models import User
from accounts.scopes import scope_for
from accounts.tests.factories import UserFactory, commune_official
from communes.models import Commune


@pytest.mark.django_db
def test_a_commune_officials_scope_names_its_district_without_another_query(
    divisions, django_assert_num_queries
):
    commune = Commune.objects.get(code=14269)
    official = commune_official(commune)
    with django_assert_num_queries(1):
        user = CachedPermissionBackend().get_user(str(official.pk))
        scope = scope_for(user)
    assert scope.district_ids == {commune.district_id}
    assert scope.commune_ids == {commune.pk}
    assert user.scope_commune_id == commune.pk and user.username == official.username


@pytest.mark.django_db
def test_a_login_switched_off_in_bulk_is_refused_at_its_next_request(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("home")).wsgi_request.user == user
    User.objects.filter(pk=user.pk).update(is_active=False)  # as a team's dissolution does
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated
    assert CachedPermissionBackend().get_user(user.pk) is None
    assert CachedPermissionBackend().get_user("not a number") is None


@pytest.mark.django_db
def test_an_expired_or_unknown_session_signs_nobody_in(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("home")).wsgi_request.user.is_authenticated
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated

    client.force_login(user)
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32  # a key no session has
    response = client.get(reverse("home"))
    assert not response.wsgi_request.user.is_authenticated
    # The forged key is not kept: a new session would get a key of its own.
    assert response.wsgi_request.session.session_key is None
