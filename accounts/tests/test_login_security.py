"""Logins a guesser cannot wear down, and staff sessions that end when left alone."""

import time
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts import middleware
from accounts.middleware import LAST_SEEN_KEY, TOUCH_EVERY_SECONDS
from accounts.models import ScopeLevel
from accounts.tests.factories import UserFactory, commune_official, province_staff
from communes.models import Commune, Province

PASSWORD = "correct horse battery staple"
ADDRESS = "203.113.0.10"  # a carrier's shared address


def _login(username: str, password: str, *, address: str = ADDRESS, language: str = "vi"):
    return Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language).post(
        reverse("login"), {"username": username, "password": password}
    )


def _fail(username: str, times: int, *, address: str = ADDRESS):
    """Wrong passwords; the one that reaches the limit is already answered with the lock."""
    for _ in range(times):
        response = _login(username, "wrong password", address=address)
    return response


@pytest.fixture
def official(divisions):
    return commune_official(Commune.objects.get(code=14269), username="canbo.haidong")


@pytest.mark.django_db
def test_wrong_passwords_lock_the_name_on_that_address_and_the_page_says_how_long(official):
    assert _fail("canbo.haidong", settings.AXES_FAILURE_LIMIT - 1).status_code == 200
    # One short of the limit, the right password still works, and starts the count again.
    assert _login("canbo.haidong", PASSWORD).status_code == 302
    assert _fail("canbo.haidong", settings.AXES_FAILURE_LIMIT - 1).status_code == 200
    assert _fail("canbo.haidong", 1).status_code == 429

    locked = _login("canbo.haidong", PASSWORD)

    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Thử lại sau 15 phút" in page
    assert 'lang="vi"' in page
    english = _login("canbo.haidong", PASSWORD, language="en").content.decode()
    assert "Try again in 15 minutes" in english


@pytest.mark.django_db
def test_a_locked_name_still_logs_in_from_another_address_and_others_from_the_same(official):
    other = province_staff(Province.objects.get(), username="sotttt")
    _fail("canbo.haidong", settings.AXES_FAILURE_LIMIT)
    assert _login("canbo.haidong", PASSWORD).status_code == 429

    # Volunteers behind the same carrier address are not locked out with the guesser...
    assert _login(other.username, PASSWORD).status_code == 302
    # ...and the official is not locked out of the portal by whoever typed their name.
    assert _login("canbo.haidong", PASSWORD, address="113.160.0.7").status_code == 302


@pytest.mark.django_db
def test_a_phone_login_typed_two_ways_counts_as_one_name(divisions):
    UserFactory(scope_level=ScopeLevel.TEAM, username="0912345678")
    spellings = ["+84 912 345 678", "0912 345 678", "84912345678", "0912345678", "+84912345678"]
    assert len(spellings) == settings.AXES_FAILURE_LIMIT
    answers = [_login(s, "wrong password").status_code for s in spellings]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert _login("0912.345.678", PASSWORD).status_code == 429


@pytest.mark.django_db
def test_the_admin_login_is_throttled_too(divisions):
    UserFactory(username="quantri", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(admin_login, {"username": "quantri", "password": "wrong password"})
    response = client.post(admin_login, {"username": "quantri", "password": PASSWORD})
    assert response.status_code == 429


def _idle(client: Client, seconds: float) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time() - seconds)
    session.save()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["commune official", "provincial staff", "admin"])
def test_staff_and_admins_are_logged_out_after_thirty_idle_minutes(divisions, who):
    commune = Commune.objects.get(code=14269)
    user = {
        "commune official": lambda: commune_official(commune),
        "provincial staff": lambda: province_staff(Province.objects.get()),
        "admin": lambda: UserFactory(is_staff=True, is_superuser=True),
    }[who]()
    client = Client()
    client.force_login(user)
    home = reverse("home")
    assert client.get(home).wsgi_request.user.is_authenticated

    _idle(client, 29 * 60)
    assert client.get(home).wsgi_request.user.is_authenticated  # and the clock starts again
    _idle(client, 31 * 60)
    response = client.get(reverse("outreach:team_list"), HTTP_ACCEPT_LANGUAGE="vi")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=" in response["Location"]
    followed = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="vi")
    assert not followed.wsgi_request.user.is_authenticated
    assert "30 phút" in followed.content.decode()


@pytest.mark.django_db
def test_a_team_leader_in_the_field_keeps_the_session(divisions):
    leader = UserFactory(scope_level=ScopeLevel.TEAM)
    client = Client()
    client.force_login(leader)
    client.get(reverse("home"))
    _idle(client, 3 * 60 * 60)
    assert client.get(reverse("home")).wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_an_active_session_is_not_saved_on_every_request(divisions, monkeypatch):
    # The middleware's clock, moved by hand: a minute of requests takes no minute here.
    now = [time.time()]
    monkeypatch.setattr(middleware, "time", SimpleNamespace(time=lambda: now[0]))
    client = Client()
    client.force_login(province_staff(Province.objects.get()))
    client.get(reverse("home"))
    first = client.session[LAST_SEEN_KEY]

    now[0] += TOUCH_EVERY_SECONDS - 1
    client.get(reverse("home"))
    assert client.session[LAST_SEEN_KEY] == first

    # And the clock is the one the middleware reads: a minute on, the time is written.
    now[0] += 1
    client.get(reverse("home"))
    assert client.session[LAST_SEEN_KEY] == first + TOUCH_EVERY_SECONDS


@pytest.mark.django_db
def test_behind_the_proxy_a_name_is_locked_on_the_callers_address_not_the_proxys(
    official, settings
):
    settings.BEHIND_HTTPS_PROXY = True

    def through_proxy(password: str, caller: str):
        # nginx connects from 127.0.0.1 and appends the caller's address; what came before
        # it is whatever the caller sent.
        client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {caller}")
        return client.post(reverse("login"), {"username": "canbo.haidong", "password": password})

    for _ in range(settings.AXES_FAILURE_LIMIT):
        through_proxy("wrong password", ADDRESS)

    assert through_proxy(PASSWORD, ADDRESS).status_code == 429
    # The official at the commune office is not locked out by the guesser.
    assert through_proxy(PASSWORD, "113.160.0.7").status_code == 302
