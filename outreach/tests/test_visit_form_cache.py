"""The visit form's choices and the leader's teams come from the cache, and never stale.

A leader's form (shown or sent) reads the team, its commune's hamlets, its members and
the services from the cache, and the scope helper the teams the leader leads
(outreach.selectors.visit_choices, accounts.scopes). Any change of those rows, through
the services, the admin or a bulk write, is seen by the very next form.
"""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ScopeLevel, User
from accounts.scopes import TEAM_ROWS, scope_for
from accounts.services import user_save
from communes.models import Commune
from outreach.models import Household, Member, Service, Visit
from outreach.selectors import VISIT_CHOICES
from outreach.services import (
    member_create,
    member_create_many,
    member_deactivate,
    member_login_create,
    member_update,
    team_update,
)
from outreach.services.hamlets import hamlet_create, hamlet_update
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

NEW = reverse("outreach:visit_new")
# The tables of the rows that the cache holds.
CACHED_TABLES = ("outreach_team", "outreach_member", "communes_hamlet", "outreach_service")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def team(hai_dong):
    return TeamFactory(commune=hai_dong, name="Tổ Đông")


@pytest.fixture
def hamlet(hai_dong):
    return HamletFactory(commune=hai_dong, name="Thôn Đông")


@pytest.fixture
def leader_member(team):
    return MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")


@pytest.fixture
def helper_member(team):
    return MemberFactory(team=team, full_name="Phạm Thị Hoa", phone="0912000001")


@pytest.fixture
def leader(leader_member, helper_member, official):
    user, _password = member_login_create(by=official, member=leader_member)
    return user


@pytest.fixture
def client(client, leader, hamlet):
    """The leader, signed in, with the cache warm from the form they opened."""
    client.force_login(leader)
    assert client.get(NEW).status_code == 200
    return client


def _post(team, hamlet, members, **overrides) -> dict:
    values = {
        "submission_id": str(uuid.uuid4()),
        "consent": Household.Consent.GIVEN,
        "visited_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "hamlet": str(hamlet.pk),
        "address_label": "Số 12, ngõ 3",
        "members": [str(m.pk) for m in members],
        "residents_helped": "1",
        "services": [],
        "outcome": Visit.Outcome.INFORMED,
    }
    values.update(overrides)
    return values


def _offered(response, name: str) -> set:
    form = response.context["form"]
    return {value.instance.pk for value, _label in form.fields[name].choices if value}


def _tables_read(queries) -> set[str]:
    return {
        table
        for query in queries
        if query["sql"].startswith(("SELECT", "DECLARE"))
        for table in CACHED_TABLES
        if f'FROM "{table}"' in query["sql"]
    }


# --- What the cache saves ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_warm_return_visit_makes_five_queries_fewer_than_a_cold_one(
    client, team, hamlet, leader_member, helper_member
):
    members = [leader_member, helper_member]
    assert client.post(NEW, _post(team, hamlet, members)).status_code == 302
    # Cold: the leader's teams and the form's choices as if something had just changed.
    TEAM_ROWS.renew()
    VISIT_CHOICES.renew()
    with CaptureQueriesContext(connection) as cold:
        assert client.post(NEW, _post(team, hamlet, members)).status_code == 302
    with CaptureQueriesContext(connection) as warm:
        assert client.post(NEW, _post(team, hamlet, members)).status_code == 302
    with CaptureQueriesContext(connection) as shown:
        assert client.get(NEW).status_code == 200

    assert Visit.objects.filter(team=team).count() == 3
    # The leader's teams, the team, its hamlets, its members, the services.
    assert len(cold) - len(warm) == 5
    assert _tables_read(cold) == set(CACHED_TABLES)
    assert _tables_read(warm) == set()
    # The form shown: the session, the user, the team's last visit and its members (to
    # start from the same ones); none of the choices.
    assert len(shown) == 4


@pytest.mark.django_db
def test_the_form_works_the_same_without_the_cache(
    settings, client, team, hamlet, leader_member, helper_member
):
    # As when Redis is away (core.cache answers every read with a miss): the rows are
    # read on every request, and the visit is stored as usual.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with CaptureQueriesContext(connection) as shown:
        response = client.get(NEW)
    assert _offered(response, "members") == {leader_member.pk, helper_member.pk}
    assert _tables_read(shown) == set(CACHED_TABLES)
    response = client.post(NEW, _post(team, hamlet, [helper_member]))
    assert response.status_code == 302
    assert Visit.objects.get(team=team).members.get() == helper_member


# --- The very next form sees every change -----------------------------------------------


@pytest.mark.django_db
def test_a_member_who_left_is_no_longer_offered_or_accepted(
    client, official, team, hamlet, helper_member
):
    member_deactivate(by=official, member=helper_member, left_on=timezone.localdate())

    assert helper_member.pk not in _offered(client.get(NEW), "members")
    response = client.post(NEW, _post(team, hamlet, [helper_member]))
    assert response.status_code == 200
    assert response.context["form"].errors["members"] == [
        "Someone you chose is no longer a member of the team: choose who went again."
    ]
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_member_who_moved_to_another_team_is_no_longer_offered_or_accepted(
    client, official, hai_dong, team, hamlet, helper_member
):
    other = TeamFactory(commune=hai_dong, name="Tổ Tây")
    member_update(by=official, member=helper_member, team=other)

    assert helper_member.pk not in _offered(client.get(NEW), "members")
    response = client.post(NEW, _post(team, hamlet, [helper_member]))
    assert "members" in response.context["form"].errors
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_member_who_joined_is_offered_and_accepted_at_once(
    client, official, team, hamlet, leader_member
):
    newcomer = member_create(
        by=official,
        team=team,
        full_name="Trần Văn Mới",
        role=Member.Role.MEMBER,
        joined_on=timezone.localdate() - dt.timedelta(days=3),
    )

    assert newcomer.pk in _offered(client.get(NEW), "members")
    response = client.post(NEW, _post(team, hamlet, [leader_member, newcomer]))
    assert response.status_code == 302
    assert set(Visit.objects.get().members.all()) == {leader_member, newcomer}


@pytest.mark.django_db
def test_members_imported_in_bulk_are_offered_at_once(client, official, team, hamlet):
    # member_create_many (the member import's) inserts with bulk_create: no post_save.
    (imported,) = member_create_many(
        by=official,
        entries=[
            (
                team,
                {
                    "full_name": "Lê Thị Nhập",
                    "role": Member.Role.MEMBER,
                    "joined_on": timezone.localdate() - dt.timedelta(days=3),
                },
            )
        ],
    )

    assert imported.pk in _offered(client.get(NEW), "members")
    assert client.post(NEW, _post(team, hamlet, [imported])).status_code == 302


@pytest.mark.django_db
def test_a_deactivated_hamlet_is_no_longer_offered_or_accepted_and_a_new_one_is(
    client, official, hai_dong, team, hamlet, helper_member
):
    hamlet_update(by=official, hamlet=hamlet, name=hamlet.name, is_active=False)
    added = hamlet_create(by=official, commune=hai_dong, name="Xóm Mới")

    response = client.get(NEW)
    assert _offered(response, "hamlet") == {added.pk}
    response = client.post(NEW, _post(team, hamlet, [helper_member]))
    assert response.context["form"].errors["hamlet"] == [
        "This hamlet is no longer on the commune's list: choose it again."
    ]
    assert client.post(NEW, _post(team, added, [helper_member])).status_code == 302
    assert Visit.objects.get().household.hamlet == added


@pytest.mark.django_db
def test_the_last_hamlet_deactivated_the_form_says_whom_to_ask(client, official, hamlet):
    hamlet_update(by=official, hamlet=hamlet, name=hamlet.name, is_active=False)

    page = client.get(NEW).content.decode()
    assert "Your commune has no hamlets on record yet." in page


@pytest.mark.django_db
def test_a_service_retired_in_the_admin_is_no_longer_offered_or_accepted(
    client, team, hamlet, helper_member
):
    service = Service.objects.get(code="portal_account")
    admin = User.objects.create_superuser("root", password="x")
    admin_client = Client()
    admin_client.force_login(admin)
    response = admin_client.post(
        reverse("admin:outreach_service_change", args=[service.pk]),
        {"code": service.code, "name": service.name, "sort_order": service.sort_order},
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert not service.is_active

    assert service.pk not in _offered(client.get(NEW), "services")
    response = client.post(NEW, _post(team, hamlet, [helper_member], services=[service.pk]))
    assert response.context["form"].errors["services"] == [
        f"Select a valid choice. {service.pk} is not one of the available choices."
    ]
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_renamed_team_is_shown_by_its_new_name(client, official, team):
    team_update(by=official, team=team, name="Tổ Đông Mới")

    assert "Tổ Đông Mới" in client.get(NEW).content.decode()


# --- The leader's teams (accounts.scopes) -------------------------------------------------


def _fresh(user: User) -> User:
    """The user as the next request loads them (scope_for keeps one per user object)."""
    return User.objects.get(pk=user.pk)


@pytest.mark.django_db
def test_a_leaders_teams_are_read_once_and_then_come_from_the_cache(leader, team):
    assert scope_for(_fresh(leader)).team_ids == {team.pk}
    user = _fresh(leader)
    with CaptureQueriesContext(connection) as again:
        assert scope_for(user).team_ids == {team.pk}
    assert len(again) == 0


@pytest.mark.django_db
def test_a_leader_moved_to_another_team_logs_visits_for_it_at_once(
    client, official, hai_dong, leader, leader_member, team, hamlet
):
    other = TeamFactory(commune=hai_dong, name="Tổ Tây")
    assert scope_for(_fresh(leader)).team_ids == {team.pk}

    member_update(by=official, member=leader_member, team=other)

    assert scope_for(_fresh(leader)).team_ids == {other.pk}
    response = client.get(NEW)
    assert response.context["team"] == other
    assert _offered(response, "members") == {leader_member.pk}
    assert client.post(NEW, _post(other, hamlet, [leader_member])).status_code == 302
    assert Visit.objects.get().team == other


@pytest.mark.django_db
def test_a_leader_whose_team_moves_commune_sees_the_new_commune(leader, team, divisions):
    elsewhere = Commune.objects.get(code=13636)
    assert scope_for(_fresh(leader)).commune_ids == {team.commune_id}
    team.commune = elsewhere
    team.save(update_fields=["commune"])

    scope = scope_for(_fresh(leader))
    assert scope.commune_ids == {elsewhere.pk}
    assert scope.district_ids == {elsewhere.district_id}


@pytest.mark.django_db
def test_a_users_scope_change_is_followed_at_once(leader, team, hai_dong):
    assert scope_for(_fresh(leader)).level == ScopeLevel.TEAM

    user = _fresh(leader)
    user.scope_level, user.scope_commune = ScopeLevel.COMMUNE, hai_dong
    user_save(user=user)
    scope = scope_for(_fresh(leader))
    assert (scope.level, scope.commune_ids, scope.team_ids) == (
        ScopeLevel.COMMUNE,
        {hai_dong.pk},
        frozenset(),
    )

    user.scope_level, user.scope_commune = ScopeLevel.TEAM, None
    user_save(user=user)
    assert scope_for(_fresh(leader)).team_ids == {team.pk}
