"""The pages a user sees when something fails: in their language, without the database,
and telling them what to do with the form they sent."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from accounts.models import ScopeLevel
from accounts.tests.factories import UserFactory, commune_official
from communes.models import Commune
from outreach.models import Member
from outreach.services import member_login_create
from outreach.tests.factories import MemberFactory, TeamFactory

HAI_DONG = 14269


@pytest.fixture
def official_client(divisions):
    client = Client(raise_request_exception=False)
    client.force_login(commune_official(Commune.objects.get(code=HAI_DONG)))
    return client


def _database_away(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")


@pytest.mark.django_db
def test_a_database_that_is_away_answers_503_asking_to_send_the_form_again(
    official_client, monkeypatch
):
    # The first thing a logged-in request reads from the database is its session.
    monkeypatch.setattr(SessionStore, "load", _database_away)

    response = official_client.post(reverse("outreach:visit_new"), {"visited_on": "1/12/2026"})

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    page = response.content.decode()
    assert '<html lang="vi">' in page
    assert "Cổng thông tin tạm thời không truy cập được" in page
    assert "gửi lại" in page
    assert "OperationalError" not in page and "5432" not in page


@pytest.mark.django_db
def test_the_503_page_is_in_english_for_an_english_reader(official_client, monkeypatch):
    monkeypatch.setattr(SessionStore, "load", _database_away)

    response = official_client.get(reverse("outreach:visit_new"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 503
    assert "The portal is briefly unavailable" in response.content.decode()


@pytest.mark.django_db
def test_any_other_failure_answers_a_500_page_in_vietnamese(official_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(SessionStore, "load", broken)

    response = official_client.get(reverse("outreach:visit_new"))

    assert response.status_code == 500
    page = response.content.decode()
    assert "Đã có lỗi xảy ra" in page
    assert "a bug" not in page and "RuntimeError" not in page


@pytest.mark.django_db
def test_the_health_check_answers_without_reading_the_callers_session(official_client, monkeypatch):
    """A browser that sends its session cookie to /healthz must still get the check's own
    answer: the idle-session check would otherwise read the session from the database."""
    UserFactory()  # the database itself answers
    monkeypatch.setattr(SessionStore, "load", _database_away)

    response = official_client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


# --- 403: what the role may not do, and who may -----------------------------------------


@pytest.mark.django_db
def test_a_page_for_team_leaders_tells_a_commune_official_in_vietnamese_who_can_use_it(
    official_client,
):
    response = official_client.get(reverse("outreach:visit_new"))

    assert response.status_code == 403
    page = response.content.decode()
    assert '<html lang="vi">' in page
    assert "Trang này không dành cho vai trò của bạn." in page
    assert "<li>Tổ trưởng tổ công nghệ số</li>" in page
    # Only the roles that can: not the official's own, nor anyone else's.
    assert "Cán bộ cấp xã" not in page and "Cán bộ cấp tỉnh" not in page
    assert "Forbidden" not in page


@pytest.mark.django_db
def test_a_page_for_staff_tells_a_team_leader_in_english_which_roles_can_use_it(divisions):
    team = TeamFactory(commune=Commune.objects.get(code=HAI_DONG))
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=UserFactory(is_superuser=True), member=leader)
    assert user.scope_level == ScopeLevel.TEAM
    client = Client()
    client.force_login(user)

    response = client.get(
        reverse("outreach:team_history", args=[team.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 403
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "This page is not open to your role." in page
    for role in ("Provincial staff", "District staff", "Commune officials"):
        assert f"<li>{role}</li>" in page
    assert "Team leaders" not in page
    assert "403 Forbidden" not in page


@pytest.mark.django_db
def test_a_refusal_that_says_why_shows_its_reason_on_the_403_page(official_client):
    response = official_client.get(reverse("dashboard:target_list"))

    assert response.status_code == 403
    page = response.content.decode()
    assert "Chỉ cán bộ cấp tỉnh được quản lý chỉ tiêu và chỉ số." in page
    assert "Forbidden" not in page


@pytest.mark.django_db
def test_the_import_pages_say_who_loads_lists(divisions):
    team = TeamFactory(commune=Commune.objects.get(code=HAI_DONG))
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=UserFactory(is_superuser=True), member=leader)
    client = Client()
    client.force_login(user)

    members = client.get(reverse("outreach:member_import_new"), HTTP_ACCEPT_LANGUAGE="en")
    courses = client.get(reverse("trainings:course_import_new"), HTTP_ACCEPT_LANGUAGE="en")

    assert members.status_code == courses.status_code == 403
    assert "imported by commune officials" in members.content.decode()
    assert "<li>Provincial staff</li>" in courses.content.decode()
    assert "Team leaders" not in courses.content.decode()
