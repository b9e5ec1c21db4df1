"""Dissolving a team: its members move to another team of the commune or leave on the
day, its leader's login loses the team, and the dashboards stop counting them."""

import datetime as dt
import importlib
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry, User
from accounts.scopes import scope_for
from communes.models import Commune
from core.tests.migration_apps import apps
from dashboard import rollup
from dashboard.models import CommuneDay, PendingRollup
from dashboard.tests.exact import assert_figures_exact
from outreach.models import Member, Team
from outreach.services import member_login_create, team_dissolve
from outreach.tests.factories import MemberFactory, TeamFactory

HAI_DONG = 14269
DISSOLVED = dt.date(2025, 6, 30)

leaving = importlib.import_module("outreach.migrations.0006_dissolved_teams_members_leave")


@pytest.fixture
def english(settings):
    # Most messages are checked in their English source text.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=HAI_DONG)


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("0900000001", password="x")


@pytest.fixture
def team(hai_dong):
    return TeamFactory(commune=hai_dong, name="Tổ công nghệ số thôn Đông")


@pytest.fixture
def neighbour_team(hai_dong):
    """Another active team of the same commune."""
    return TeamFactory(commune=hai_dong, name="Tổ công nghệ số thôn Tây")


@pytest.fixture
def far_team(divisions):
    """A team of a commune of another district."""
    return TeamFactory(commune=Commune.objects.get(code=13636), name="Tổ phố Hàng Sắt")


@pytest.fixture
def leader_member(team):
    return MemberFactory(team=team, role=Member.Role.LEADER, full_name="Trần Văn Trưởng")


@pytest.fixture
def leader(leader_member, official):
    """The login of the team's leader, made the way commune officials make it."""
    user, _password = member_login_create(by=official, member=leader_member)
    return user


@pytest.fixture
def members(team, leader_member):
    """The team's active members: the leader, a deputy and a member."""
    return [
        leader_member,
        MemberFactory(team=team, role=Member.Role.DEPUTY),
        MemberFactory(team=team, role=Member.Role.MEMBER),
    ]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _dissolve_url(team: Team) -> str:
    return reverse("outreach:team_dissolve", args=[team.pk])


def _errors(response, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


def _checked(html: str, name: str) -> list[str]:
    """The values of the radio buttons `name` the page shows ticked."""
    inputs = re.findall(rf'<input type="radio" name="{name}"[^>]*>', html)
    return [re.search(r'value="([^"]*)"', tag).group(1) for tag in inputs if " checked" in tag]


def _last_change(member: Member) -> AuditEntry:
    """The latest change the member's history shows."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Member),
        object_id=member.pk,
        action=AuditEntry.Action.CHANGED,
    ).latest("pk")


def _fresh(user: User) -> User:
    """The user as the next request loads them (the scope is cached on the object)."""
    return User.objects.get(pk=user.pk)


def _members_on(commune: Commune, day: dt.date) -> int:
    """The commune's active members on a day, as the dashboards add them up."""
    sums = CommuneDay.objects.filter(commune=commune, day__lte=day).aggregate(
        joined=Sum("members_joined", default=0), left=Sum("members_left", default=0)
    )
    return sums["joined"] - sums["left"]


# --- The page ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_the_members_and_leader_and_offers_the_communes_other_active_teams(
    english, official, team, members, neighbour_team, far_team, hai_dong
):
    TeamFactory(commune=hai_dong, name="Tổ đã giải thể", dissolved_on=dt.date(2024, 1, 1))
    response = _client(official).get(_dissolve_url(team))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"<dt>Active members</dt>\s*<dd>3</dd>", html)
    assert re.search(r"<dt>Leader</dt>\s*<dd>Trần Văn Trưởng</dd>", html)
    offered = response.context["form"].fields["members_to"].queryset
    assert list(offered) == [neighbour_team]
    assert 'value="move"' in html and 'value="leave"' in html


@pytest.mark.django_db
def test_a_team_without_members_is_dissolved_without_asking_about_them(official, team):
    response = _client(official).post(_dissolve_url(team), {"dissolved_on": "2025-06-30"})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.dissolved_on == DISSOLVED


@pytest.mark.django_db
def test_with_no_other_team_leaving_is_the_only_answer_and_already_chosen(official, team, members):
    response = _client(official).get(_dissolve_url(team))
    form = response.context["form"]
    assert "members_to" not in form.fields
    assert [value for value, _label in form.fields["members"].choices] == ["leave"]
    assert _checked(response.content.decode(), "members") == ["leave"]


# --- Members leave -----------------------------------------------------------------------


@pytest.mark.django_db
def test_members_leave_on_the_day_and_the_leader_can_no_longer_log_in(
    english, official, team, members, leader, neighbour_team
):
    former = MemberFactory(team=team, is_active=False, left_on=dt.date(2024, 1, 1))
    assert scope_for(_fresh(leader)).team_ids == {team.pk}
    response = _client(official).post(
        _dissolve_url(team), {"dissolved_on": "2025-06-30", "members": "leave"}
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.dissolved_on == DISSOLVED
    assert not team.members.filter(is_active=True).exists()
    assert {m.pk: m.left_on for m in team.members.all()} == {
        **{m.pk: DISSOLVED for m in members},
        former.pk: dt.date(2024, 1, 1),
    }
    leader = _fresh(leader)
    assert not leader.is_active
    assert not scope_for(leader).team_ids
    # Signed in before, the leader is now sent to the login page.
    response = _client(leader).get(reverse("outreach:team_detail", args=[team.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    # The members' history says when they left.
    entry = _last_change(members[1])
    assert entry.changes == {"is_active": [True, False], "left_on": [None, "2025-06-30"]}


@pytest.mark.django_db
def test_members_who_joined_after_the_day_are_named_and_nothing_changes(
    english, official, team, members
):
    late = MemberFactory(team=team, full_name="Lê Thị Muộn", joined_on=dt.date(2025, 7, 15))
    response = _client(official).post(
        _dissolve_url(team), {"dissolved_on": "2025-06-30", "members": "leave"}
    )
    assert response.status_code == 200
    assert _errors(response, "dissolved_on") == ["Lê Thị Muộn joined the team after this day."]
    team.refresh_from_db()
    assert team.dissolved_on is None
    assert team.members.filter(is_active=True).count() == 4
    assert not PendingRollup.objects.filter(day=DISSOLVED).exists()
    assert late.pk in team.members.filter(is_active=True).values_list("pk", flat=True)


# --- Members move ------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_move_to_the_chosen_team_and_its_leader_stays_its_leader(
    english, official, team, members, leader, neighbour_team
):
    their_leader = MemberFactory(team=neighbour_team, role=Member.Role.LEADER)
    response = _client(official).post(
        _dissolve_url(team),
        {"dissolved_on": "2025-06-30", "members": "move", "members_to": neighbour_team.pk},
    )
    assert response.status_code == 302
    assert not team.members.filter(is_active=True).exists()
    moved = {
        m.pk: (m.team_id, m.role, m.is_active)
        for m in Member.objects.filter(pk__in=[m.pk for m in members])
    }
    assert moved == {
        members[0].pk: (neighbour_team.pk, Member.Role.MEMBER, True),
        members[1].pk: (neighbour_team.pk, Member.Role.DEPUTY, True),
        members[2].pk: (neighbour_team.pk, Member.Role.MEMBER, True),
    }
    their_leader.refresh_from_db()
    assert (their_leader.role, their_leader.is_active) == (Member.Role.LEADER, True)
    # A leader who became a member has no login any more, as when stepping down.
    leader = _fresh(leader)
    assert not leader.is_active
    assert not scope_for(leader).team_ids
    entry = _last_change(members[0])
    assert entry.changes == {
        "team": [team.name, neighbour_team.name],
        "role": [Member.Role.LEADER, Member.Role.MEMBER],
    }


@pytest.mark.django_db
def test_a_moved_leader_leads_a_team_that_had_none_and_logs_in_for_it(
    official, team, members, leader, neighbour_team
):
    team_dissolve(by=official, team=team, dissolved_on=DISSOLVED, members_to=neighbour_team)
    members[0].refresh_from_db()
    assert (members[0].team_id, members[0].role) == (neighbour_team.pk, Member.Role.LEADER)
    leader = _fresh(leader)
    assert leader.is_active
    assert scope_for(leader).team_ids == {neighbour_team.pk}
    client = _client(leader)
    assert client.get(reverse("outreach:team_detail", args=[team.pk])).status_code == 404
    assert client.get(reverse("outreach:team_detail", args=[neighbour_team.pk])).status_code == 200


@pytest.mark.django_db
def test_moving_needs_the_team_named_in_vietnamese_beside_the_field_and_keeps_the_input(
    official, team, members, neighbour_team
):
    response = _client(official).post(
        _dissolve_url(team), {"dissolved_on": "2025-06-30", "members": "move", "members_to": ""}
    )
    assert response.status_code == 200
    assert _errors(response, "members_to") == ["Vui lòng chọn tổ mà các thành viên chuyển sang."]
    html = response.content.decode()
    assert 'value="2025-06-30"' in html
    assert _checked(html, "members") == ["move"]
    team.refresh_from_db()
    assert team.dissolved_on is None


@pytest.mark.django_db
def test_choosing_a_team_of_another_commune_is_refused(
    english, official, admin, team, members, neighbour_team, far_team
):
    response = _client(official).post(
        _dissolve_url(team),
        {"dissolved_on": "2025-06-30", "members": "move", "members_to": far_team.pk},
    )
    assert response.status_code == 200
    assert _errors(response, "members_to")
    # The service refuses it too, even for someone who sees both communes.
    with pytest.raises(ValidationError) as refused:
        team_dissolve(by=admin, team=team, dissolved_on=DISSOLVED, members_to=far_team)
    assert refused.value.message_dict == {
        "members_to": ["Choose another active team of the same commune."]
    }
    team.refresh_from_db()
    assert team.dissolved_on is None
    assert team.members.filter(is_active=True).count() == 3
    assert not far_team.members.exists()


@pytest.mark.django_db
def test_an_official_gets_404_for_a_team_of_another_commune(official, far_team):
    MemberFactory(team=far_team)
    client = _client(official)
    url = _dissolve_url(far_team)
    assert client.get(url).status_code == 404
    assert client.post(url, {"dissolved_on": "2025-06-30", "members": "leave"}).status_code == 404
    far_team.refresh_from_db()
    assert far_team.dissolved_on is None
    assert far_team.members.get().is_active


# --- The figures -------------------------------------------------------------------------


@pytest.mark.django_db
def test_after_the_roll_up_the_dashboard_no_longer_counts_members_who_left(
    official, team, members, neighbour_team, hai_dong
):
    MemberFactory(team=neighbour_team)
    rollup.rollup_full()
    assert _members_on(hai_dong, DISSOLVED) == 4

    team_dissolve(by=official, team=team, dissolved_on=DISSOLVED)
    rollup.rollup_pending()
    assert not PendingRollup.objects.exists()
    assert _members_on(hai_dong, DISSOLVED - dt.timedelta(days=1)) == 4
    assert _members_on(hai_dong, DISSOLVED) == 1
    assert_figures_exact([HAI_DONG])
    page = _client(official).get(
        reverse("dashboard:commune", args=[HAI_DONG]),
        {"period": "custom", "start": "01/01/2025", "end": "31/12/2025"},
    )
    assert re.search(
        r'data-figure="members">.*?<span class="tile-value">1</span>', page.content.decode(), re.S
    )


@pytest.mark.django_db
def test_members_moved_within_the_commune_are_still_counted(
    official, team, members, neighbour_team, hai_dong
):
    rollup.rollup_full()
    team_dissolve(by=official, team=team, dissolved_on=DISSOLVED, members_to=neighbour_team)
    rollup.rollup_pending()
    assert _members_on(hai_dong, DISSOLVED) == 3
    assert_figures_exact([HAI_DONG])


# --- The data migration ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_makes_members_of_dissolved_teams_leave_on_the_day(
    official, team, members, leader, neighbour_team, hai_dong
):
    # A team dissolved before dissolving made its members leave.
    late = MemberFactory(team=team, joined_on=dt.date(2025, 8, 1))
    Team.objects.filter(pk=team.pk).update(dissolved_on=DISSOLVED)
    stays = MemberFactory(team=neighbour_team)
    rollup.rollup_full()
    assert _members_on(hai_dong, dt.date(2025, 12, 31)) == 5

    leaving.members_of_dissolved_teams_leave(apps, None)

    assert not team.members.filter(is_active=True).exists()
    left = dict(team.members.values_list("pk", "left_on"))
    assert left == {**{m.pk: DISSOLVED for m in members}, late.pk: dt.date(2025, 8, 1)}
    stays.refresh_from_db()
    assert (stays.is_active, stays.left_on) == (True, None)
    assert not _fresh(leader).is_active
    assert set(PendingRollup.objects.values_list("commune_id", "day", "source")) == {
        (hai_dong.pk, DISSOLVED, "roster"),
        (hai_dong.pk, dt.date(2025, 8, 1), "roster"),
    }
    entry = _last_change(members[2])
    assert entry.changes == {"is_active": [True, False], "left_on": [None, "2025-06-30"]}

    rollup.rollup_pending()
    assert _members_on(hai_dong, dt.date(2025, 12, 31)) == 1
    assert_figures_exact([HAI_DONG])
    # Run again (a database migrated twice over a restore): nothing left to do.
    leaving.members_of_dissolved_teams_leave(apps, None)
    assert not PendingRollup.objects.exists()
