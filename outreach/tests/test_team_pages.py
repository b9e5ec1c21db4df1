"""The pages where hamlets, teams and members are kept: who may read and write what."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.access import NotAllowed
from accounts.tests.factories import commune_official, district_staff
from communes.models import Commune, District, Hamlet
from outreach.models import Member, Team
from outreach.services import member_login_create
from outreach.services.hamlets import hamlet_create, hamlet_update
from outreach.tests.factories import HamletFactory, HouseholdFactory, MemberFactory, TeamFactory

LEADER_PHONE = "0912345678"


@pytest.fixture(autouse=True)
def _english(settings):
    # Messages are checked in their English source text.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def tran_te_xuong(divisions):
    """A commune of another district."""
    return Commune.objects.get(code=13636)


@pytest.fixture
def hamlet(hai_dong):
    return HamletFactory(commune=hai_dong, name="Thôn Đông")


@pytest.fixture
def team(hai_dong, hamlet):
    return TeamFactory(commune=hai_dong, hamlet=hamlet, name="Tổ công nghệ số thôn Đông")


@pytest.fixture
def neighbour_team(hai_dong):
    """Another team of the same commune."""
    return TeamFactory(commune=hai_dong, name="Tổ công nghệ số thôn Tây")


@pytest.fixture
def far_team(tran_te_xuong):
    return TeamFactory(commune=tran_te_xuong, name="Tổ công nghệ số phố Hàng Sắt")


@pytest.fixture
def leader_member(team):
    return MemberFactory(team=team, role=Member.Role.LEADER, phone=LEADER_PHONE)


@pytest.fixture
def leader(leader_member, official):
    """The login of the team's leader, made the way commune officials make it."""
    user, _password = member_login_create(by=official, member=leader_member)
    return user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _member_data(**overrides) -> dict:
    data = {
        "full_name": "Nguyễn Thị Lan",
        "phone": "",
        "role": Member.Role.MEMBER,
        "gender": Member.Gender.FEMALE,
        "birth_year": "1998",
        "affiliation": Member.Affiliation.YOUTH_UNION,
        "is_youth_union_member": "on",
        "zalo_joined_on": "",
        "joined_on": "2024-05-02",
    }
    data.update(overrides)
    return data


def _errors(response, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


# --- Teams ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_commune_official_adds_a_team_to_their_own_commune_whatever_the_form_says(
    official, hai_dong, tran_te_xuong, hamlet
):
    response = _client(official).post(
        reverse("outreach:team_create"),
        {
            "name": "  Tổ công nghệ số xóm 3 ",
            "hamlet": hamlet.pk,
            "formed_on": "2024-03-01",
            # A tampered field naming another commune is not even read.
            "commune": tran_te_xuong.pk,
        },
    )
    team = Team.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("outreach:team_detail", args=[team.pk])
    assert (team.commune, team.hamlet, team.name) == (hai_dong, hamlet, "Tổ công nghệ số xóm 3")
    assert team.formed_on == dt.date(2024, 3, 1)


@pytest.mark.django_db
def test_a_team_cannot_be_placed_in_another_communes_hamlet(official, tran_te_xuong):
    far_hamlet = HamletFactory(commune=tran_te_xuong)
    response = _client(official).post(
        reverse("outreach:team_create"),
        {"name": "Tổ 1", "hamlet": far_hamlet.pk, "formed_on": "2024-03-01"},
    )
    assert response.status_code == 200
    assert _errors(response, "hamlet")
    assert not Team.objects.exists()
    assert far_hamlet.name not in response.content.decode()


@pytest.mark.django_db
def test_a_second_team_of_the_same_name_is_refused_beside_the_name(official, team):
    response = _client(official).post(
        reverse("outreach:team_create"),
        {"name": "to cong nghe so thon dong", "formed_on": "2024-03-01"},
    )
    assert response.status_code == 200
    assert _errors(response, "name") == ["This commune already has a team with this name."]
    assert 'value="to cong nghe so thon dong"' in response.content.decode()
    assert Team.objects.count() == 1


@pytest.mark.django_db
def test_names_as_long_as_the_form_allows_are_stored_whatever_their_letters(official, team):
    # Their folded copy, kept for search and uniqueness, once overflowed its column.
    name = "가" * 100
    client = _client(official)
    response = client.post(
        reverse("outreach:team_create"), {"name": name, "formed_on": "2024-03-01"}
    )
    assert response.status_code == 302
    response = client.post(reverse("outreach:hamlet_create"), {"name": name})
    assert response.status_code == 302
    response = client.post(
        reverse("outreach:member_create", args=[team.pk]),
        {
            "full_name": "김" * 150,
            "role": Member.Role.MEMBER,
            "affiliation": Member.Affiliation.OTHER,
            "joined_on": "2024-03-01",
        },
    )
    assert response.status_code == 302
    assert Team.objects.filter(name=name).exists()
    assert Hamlet.objects.filter(name=name).exists()
    assert team.members.get().full_name == "김" * 150


@pytest.mark.django_db
def test_commune_official_renames_a_team_and_changes_its_hamlet(official, team, hai_dong):
    other_hamlet = HamletFactory(commune=hai_dong, name="Thôn Nam")
    response = _client(official).post(
        reverse("outreach:team_edit", args=[team.pk]),
        {"name": "Tổ thôn Nam", "hamlet": other_hamlet.pk, "formed_on": "2023-03-01"},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.hamlet, team.name_folded) == (
        "Tổ thôn Nam",
        other_hamlet,
        "to thon nam",
    )


@pytest.mark.django_db
def test_commune_official_dissolves_a_team_on_a_given_day(official, team):
    client = _client(official)
    assert client.get(reverse("outreach:team_dissolve", args=[team.pk])).status_code == 200
    response = client.post(
        reverse("outreach:team_dissolve", args=[team.pk]), {"dissolved_on": "2025-06-30"}
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.dissolved_on == dt.date(2025, 6, 30)


@pytest.mark.django_db
def test_a_team_cannot_be_dissolved_before_it_was_formed(official, team):
    response = _client(official).post(
        reverse("outreach:team_dissolve", args=[team.pk]), {"dissolved_on": "2020-01-01"}
    )
    assert response.status_code == 200
    assert _errors(response, "dissolved_on") == ["A team cannot be dissolved before it was formed."]
    team.refresh_from_db()
    assert team.dissolved_on is None


@pytest.mark.django_db
def test_team_list_shows_commune_hamlet_leader_and_active_member_count(
    official, team, leader_member
):
    MemberFactory(team=team)
    MemberFactory(team=team, is_active=False, left_on=dt.date(2024, 1, 1))
    response = _client(official).get(reverse("outreach:team_list"))
    row = response.context["page_obj"][0]
    assert (row.name, row.leader_name, row.active_member_count) == (
        team.name,
        leader_member.full_name,
        2,
    )
    assert "Thôn Đông" in response.content.decode()


@pytest.mark.django_db
def test_team_list_search_ignores_accents_and_filters_by_status(official, team, neighbour_team):
    client = _client(official)
    url = reverse("outreach:team_list")
    found = client.get(url, {"q": "thon dong"}).context["page_obj"]
    assert [t.pk for t in found] == [team.pk]

    neighbour_team.dissolved_on = dt.date(2025, 1, 1)
    neighbour_team.save()
    assert [t.pk for t in client.get(url).context["page_obj"]] == [team.pk]
    dissolved = client.get(url, {"status": "dissolved"}).context["page_obj"]
    assert [t.pk for t in dissolved] == [neighbour_team.pk]
    assert len(client.get(url, {"status": "all"}).context["page_obj"]) == 2


@pytest.mark.django_db
def test_team_list_shows_50_a_page_and_keeps_the_filters_on_the_next(official, hai_dong):
    TeamFactory.create_batch(51, commune=hai_dong)
    client = _client(official)
    first = client.get(reverse("outreach:team_list"), {"q": "cong nghe"})
    assert len(first.context["page_obj"]) == 50
    assert 'href="?q=cong+nghe&amp;page=2"' in first.content.decode()
    second = client.get(reverse("outreach:team_list"), {"q": "cong nghe", "page": 2})
    assert len(second.context["page_obj"]) == 1


@pytest.mark.django_db
def test_team_detail_lists_active_and_former_members_apart(official, team, leader_member):
    former = MemberFactory(
        team=team, full_name="Trần Văn Cũ", is_active=False, left_on=dt.date(2024, 1, 1)
    )
    response = _client(official).get(reverse("outreach:team_detail", args=[team.pk]))
    assert [m.pk for m in response.context["active_members"]] == [leader_member.pk]
    assert [m.pk for m in response.context["former_members"]] == [former.pk]
    assert reverse("outreach:team_edit", args=[team.pk]) in response.content.decode()


@pytest.mark.django_db
def test_commune_official_gets_404_for_another_communes_team_and_members(official, far_team):
    far_member = MemberFactory(team=far_team)
    client = _client(official)
    for url in (
        reverse("outreach:team_detail", args=[far_team.pk]),
        reverse("outreach:team_edit", args=[far_team.pk]),
        reverse("outreach:team_dissolve", args=[far_team.pk]),
        reverse("outreach:member_create", args=[far_team.pk]),
        reverse("outreach:member_detail", args=[far_member.pk]),
        reverse("outreach:member_edit", args=[far_member.pk]),
        reverse("outreach:member_deactivate", args=[far_member.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(reverse("outreach:member_login_create", args=[far_member.pk])).status_code
        == 404
    )
    # Nor by filtering the lists for it.
    members = client.get(reverse("outreach:member_list"), {"team": far_team.pk})
    assert far_member.full_name not in members.content.decode()
    teams = client.get(reverse("outreach:team_list"), {"commune": far_team.commune_id})
    assert far_team.name not in teams.content.decode()


# --- Members -------------------------------------------------------------------------


@pytest.mark.django_db
def test_commune_official_adds_a_member_with_a_phone_typed_the_international_way(official, team):
    response = _client(official).post(
        reverse("outreach:member_create", args=[team.pk]),
        _member_data(phone="+84 912 000 111", team=999_999),
    )
    assert response.status_code == 302
    member = Member.objects.get()
    assert (member.team, member.phone, member.full_name) == (team, "0912000111", "Nguyễn Thị Lan")
    assert member.is_youth_union_member and member.birth_year == 1998
    page = _client(official).get(reverse("outreach:member_detail", args=[member.pk]))
    assert "0912000111" in page.content.decode()


@pytest.mark.django_db
def test_an_old_eleven_digit_number_is_stored_as_its_ten_digit_successor(official, team):
    _client(official).post(
        reverse("outreach:member_create", args=[team.pk]), _member_data(phone="0168 123 4567")
    )
    assert Member.objects.get().phone == "0381234567"


@pytest.mark.django_db
def test_a_malformed_phone_is_refused_beside_the_field_with_the_input_kept(official, team):
    response = _client(official).post(
        reverse("outreach:member_create", args=[team.pk]), _member_data(phone="12 34")
    )
    assert response.status_code == 200
    assert _errors(response, "phone") == ["Enter a Vietnamese mobile number, such as 0912 345 678."]
    body = response.content.decode()
    assert 'value="12 34"' in body and 'value="Nguyễn Thị Lan"' in body
    assert not Member.objects.exists()


@pytest.mark.django_db
def test_a_phone_of_another_active_member_is_refused_beside_the_field(
    official, team, neighbour_team
):
    MemberFactory(team=neighbour_team, phone="0912000111")
    response = _client(official).post(
        reverse("outreach:member_create", args=[team.pk]), _member_data(phone="091 200 0111")
    )
    assert response.status_code == 200
    assert _errors(response, "phone") == ["This phone number belongs to another active member."]
    assert 'value="091 200 0111"' in response.content.decode()


@pytest.mark.django_db
def test_a_second_leader_is_refused_beside_the_role_with_the_input_kept(
    official, team, leader_member
):
    response = _client(official).post(
        reverse("outreach:member_create", args=[team.pk]),
        _member_data(role=Member.Role.LEADER, full_name="Phạm Văn Hai", phone="0987654321"),
    )
    assert response.status_code == 200
    assert _errors(response, "role") == ["This team already has an active leader."]
    body = response.content.decode()
    assert 'value="Phạm Văn Hai"' in body and 'value="0987654321"' in body
    assert '<option value="leader" selected>' in body
    assert team.members.count() == 1


@pytest.mark.django_db
def test_commune_official_edits_a_member_and_moves_them_to_another_team_of_the_commune(
    official, team, neighbour_team
):
    member = MemberFactory(team=team, phone="0912000111")
    response = _client(official).post(
        reverse("outreach:member_edit", args=[member.pk]),
        _member_data(
            full_name="Lê Minh", phone="0912 000 222", team=neighbour_team.pk, role="deputy"
        ),
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.full_name, member.phone, member.role, member.team) == (
        "Lê Minh",
        "0912000222",
        Member.Role.DEPUTY,
        neighbour_team,
    )


@pytest.mark.django_db
def test_a_member_cannot_be_moved_to_another_communes_team(official, team, far_team):
    member = MemberFactory(team=team)
    response = _client(official).post(
        reverse("outreach:member_edit", args=[member.pk]), _member_data(team=far_team.pk)
    )
    assert response.status_code == 200
    assert _errors(response, "team")
    member.refresh_from_db()
    assert member.team == team


@pytest.mark.django_db
def test_a_member_who_leaves_is_kept_as_former_and_their_login_stops(
    official, team, leader_member, leader
):
    client = _client(official)
    url = reverse("outreach:member_deactivate", args=[leader_member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"left_on": "2025-02-01"})
    assert response.status_code == 302
    leader_member.refresh_from_db()
    assert (leader_member.is_active, leader_member.left_on) == (False, dt.date(2025, 2, 1))
    leader.refresh_from_db()
    assert not leader.is_active
    former = client.get(reverse("outreach:member_list"), {"status": "former"})
    assert [m.pk for m in former.context["page_obj"]] == [leader_member.pk]


@pytest.mark.django_db
def test_a_member_cannot_leave_in_the_future(official, team):
    member = MemberFactory(team=team)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = _client(official).post(
        reverse("outreach:member_deactivate", args=[member.pk]), {"left_on": tomorrow.isoformat()}
    )
    assert response.status_code == 200 and _errors(response, "left_on")
    member.refresh_from_db()
    assert member.is_active


@pytest.mark.django_db
def test_a_member_cannot_leave_before_joining_and_is_told_beside_the_date(official, team):
    member = MemberFactory(team=team, joined_on=dt.date(2024, 5, 2))
    response = _client(official).post(
        reverse("outreach:member_deactivate", args=[member.pk]), {"left_on": "2024-05-01"}
    )
    assert response.status_code == 200
    assert _errors(response, "left_on") == ["A member cannot leave before joining."]
    member.refresh_from_db()
    assert member.is_active


@pytest.mark.django_db
def test_member_list_finds_people_by_unaccented_name_or_phone_as_typed(official, team):
    lan = MemberFactory(team=team, full_name="Nguyễn Thị Lan", phone="0912000111")
    MemberFactory(team=team, full_name="Trần Văn Bình", phone="0987000222")
    client = _client(official)
    url = reverse("outreach:member_list")
    for text in ("nguyen thi lan", "Lan", "+84 912 000 111", "0912 000", "000111"):
        found = client.get(url, {"q": text}).context["page_obj"]
        assert [m.pk for m in found] == [lan.pk], text


@pytest.mark.django_db
def test_member_list_filters_by_team_role_and_zalo_oa(official, team, neighbour_team):
    deputy = MemberFactory(team=team, role=Member.Role.DEPUTY, on_zalo_oa=True)
    plain = MemberFactory(team=team)
    elsewhere = MemberFactory(team=neighbour_team, on_zalo_oa=True)
    client = _client(official)
    url = reverse("outreach:member_list")

    def found(**params):
        return {m.pk for m in client.get(url, params).context["page_obj"]}

    assert found(team=team.pk) == {deputy.pk, plain.pk}
    assert found(role="deputy") == {deputy.pk}
    assert found(zalo="yes") == {deputy.pk, elsewhere.pk}
    assert found(zalo="no", team=team.pk) == {plain.pk}


# --- Team leaders --------------------------------------------------------------------


@pytest.mark.django_db
def test_team_leader_adds_and_edits_members_of_their_own_team(leader, team):
    client = _client(leader)
    response = client.post(
        reverse("outreach:member_create", args=[team.pk]), _member_data(phone="0912000111")
    )
    assert response.status_code == 302
    member = Member.objects.get(phone="0912000111")
    assert member.team == team

    response = client.post(
        reverse("outreach:member_edit", args=[member.pk]),
        _member_data(full_name="Nguyễn Thị Lan Anh", phone="0912000111"),
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.full_name == "Nguyễn Thị Lan Anh"


@pytest.mark.django_db
def test_team_leader_cannot_move_a_member_to_another_team(leader, team, neighbour_team):
    member = MemberFactory(team=team)
    client = _client(leader)
    page = client.get(reverse("outreach:member_edit", args=[member.pk]))
    assert "team" not in page.context["form"].fields
    response = client.post(
        reverse("outreach:member_edit", args=[member.pk]), _member_data(team=neighbour_team.pk)
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.team == team


@pytest.mark.django_db
def test_team_leader_gets_404_for_another_teams_roster(leader, neighbour_team):
    other = MemberFactory(team=neighbour_team)
    client = _client(leader)
    assert client.get(reverse("outreach:member_edit", args=[other.pk])).status_code == 404
    assert client.get(reverse("outreach:member_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("outreach:team_detail", args=[neighbour_team.pk])).status_code == 404
    response = client.post(
        reverse("outreach:member_create", args=[neighbour_team.pk]), _member_data()
    )
    assert response.status_code == 404
    assert neighbour_team.members.count() == 1
    listed = client.get(reverse("outreach:member_list"))
    assert other.full_name not in listed.content.decode()
    teams = client.get(reverse("outreach:team_list"))
    assert [t.pk for t in teams.context["page_obj"]] == [leader.member.team_id]


@pytest.mark.django_db
def test_team_leader_may_not_create_or_change_teams_or_logins(leader, team, leader_member):
    client = _client(leader)
    assert client.get(reverse("outreach:team_create")).status_code == 403
    assert (
        client.post(
            reverse("outreach:team_create"), {"name": "Tổ mới", "formed_on": "2024-01-01"}
        ).status_code
        == 403
    )
    assert client.get(reverse("outreach:team_edit", args=[team.pk])).status_code == 403
    assert (
        client.post(reverse("outreach:member_login_reset", args=[leader_member.pk])).status_code
        == 403
    )
    assert client.get(reverse("outreach:hamlet_create")).status_code == 403
    assert Team.objects.count() == 1


# --- District staff ------------------------------------------------------------------


@pytest.mark.django_db
def test_district_staff_list_the_teams_and_members_of_their_district_only(hai_dong, team, far_team):
    near = MemberFactory(team=team, full_name="Đỗ Thị Gần")
    far = MemberFactory(team=far_team, full_name="Vũ Văn Xa")
    staff = district_staff(District.objects.get(code=366))
    client = _client(staff)

    teams = client.get(reverse("outreach:team_list"))
    assert [t.pk for t in teams.context["page_obj"]] == [team.pk]
    assert "commune" in teams.context["form"].fields
    by_commune = client.get(reverse("outreach:team_list"), {"commune": hai_dong.pk})
    assert [t.pk for t in by_commune.context["page_obj"]] == [team.pk]

    members = client.get(reverse("outreach:member_list"))
    assert [m.pk for m in members.context["page_obj"]] == [near.pk]
    assert client.get(reverse("outreach:team_detail", args=[team.pk])).status_code == 200
    assert client.get(reverse("outreach:team_detail", args=[far_team.pk])).status_code == 404
    assert client.get(reverse("outreach:member_detail", args=[far.pk])).status_code == 404


@pytest.mark.django_db
def test_district_staff_may_read_but_not_write(team):
    member = MemberFactory(team=team)
    client = _client(district_staff(District.objects.get(code=366)))
    for url in (
        reverse("outreach:team_create"),
        reverse("outreach:team_edit", args=[team.pk]),
        reverse("outreach:member_create", args=[team.pk]),
        reverse("outreach:member_edit", args=[member.pk]),
        reverse("outreach:hamlet_create"),
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            reverse("outreach:team_create"), {"name": "Tổ mới", "formed_on": "2024-01-01"}
        ).status_code
        == 403
    )
    assert Team.objects.count() == 1


@pytest.mark.django_db
def test_pages_need_a_login(team):
    response = Client().get(reverse("outreach:team_list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- Logins --------------------------------------------------------------------------


@pytest.mark.django_db
def test_commune_official_creates_a_leader_login_shown_once_and_usable(official, leader_member):
    client = _client(official)
    page = client.get(reverse("outreach:member_detail", args=[leader_member.pk]))
    login_url = reverse("outreach:member_login_create", args=[leader_member.pk])
    assert login_url in page.content.decode()

    response = client.post(login_url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = response.context["password"]
    body = response.content.decode()
    assert password in body and LEADER_PHONE in body
    leader_member.refresh_from_db()
    assert leader_member.user.username == LEADER_PHONE

    # Shown once: not on the member's page, and a second attempt makes no new password.
    again = client.get(reverse("outreach:member_detail", args=[leader_member.pk]))
    assert password not in again.content.decode()
    second = client.post(login_url, follow=True)
    assert "This leader already has a login." in second.content.decode()
    assert password not in second.content.decode()

    assert _logs_in(LEADER_PHONE, password)


def _logs_in(username: str, password: str) -> bool:
    """Through the login page, as the leader would (and as login throttling sees it)."""
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


@pytest.mark.django_db
def test_a_login_is_only_for_an_active_leader_with_a_phone(official, team):
    plain = MemberFactory(team=team)
    response = _client(official).post(
        reverse("outreach:member_login_create", args=[plain.pk]), follow=True
    )
    assert "Only an active team leader gets a login." in response.content.decode()
    plain.refresh_from_db()
    assert plain.user is None


@pytest.mark.django_db
def test_commune_official_resets_a_leaders_password(official, leader_member):
    _user, first = member_login_create(by=official, member=leader_member)
    response = _client(official).post(
        reverse("outreach:member_login_reset", args=[leader_member.pk])
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = response.context["password"]
    assert new != first and new in response.content.decode()
    assert not _logs_in(LEADER_PHONE, first)
    assert _logs_in(LEADER_PHONE, new)


@pytest.mark.django_db
def test_logins_are_made_by_post_only(official, leader_member):
    url = reverse("outreach:member_login_create", args=[leader_member.pk])
    assert _client(official).get(url).status_code == 405
    leader_member.refresh_from_db()
    assert leader_member.user is None


# --- Hamlets -------------------------------------------------------------------------


@pytest.mark.django_db
def test_hamlet_list_shows_the_communes_hamlets_with_team_and_household_counts(
    official, hamlet, team, neighbour_team, tran_te_xuong
):
    neighbour_team.hamlet = hamlet
    neighbour_team.dissolved_on = dt.date(2025, 1, 1)
    neighbour_team.save()
    HouseholdFactory(hamlet=hamlet)
    HouseholdFactory(hamlet=hamlet)
    empty = HamletFactory(commune=hamlet.commune, name="Thôn Bắc")
    far = HamletFactory(commune=tran_te_xuong, name="Tổ dân phố số 9")

    response = _client(official).get(reverse("outreach:hamlet_list"))
    rows = {h.pk: (h.team_count, h.household_count) for h in response.context["page_obj"]}
    assert rows == {hamlet.pk: (1, 2), empty.pk: (0, 0)}
    assert far.name not in response.content.decode()


@pytest.mark.django_db
def test_commune_official_adds_a_hamlet_and_a_duplicate_is_refused_beside_the_name(
    official, hai_dong, hamlet
):
    client = _client(official)
    response = client.post(reverse("outreach:hamlet_create"), {"name": " Xóm  Trại "})
    assert response.status_code == 302
    assert Hamlet.objects.get(name="Xóm Trại").commune == hai_dong

    response = client.post(reverse("outreach:hamlet_create"), {"name": "thon dong"})
    assert response.status_code == 200
    assert _errors(response, "name") == ["This commune already has a hamlet with this name."]
    assert 'value="thon dong"' in response.content.decode()
    assert Hamlet.objects.filter(commune=hai_dong).count() == 2


@pytest.mark.django_db
def test_the_same_hamlet_name_is_allowed_in_another_commune(official, tran_te_xuong):
    HamletFactory(commune=tran_te_xuong, name="Thôn Đông")
    response = _client(official).post(reverse("outreach:hamlet_create"), {"name": "Thôn Đông"})
    assert response.status_code == 302
    assert Hamlet.objects.filter(name="Thôn Đông").count() == 2


@pytest.mark.django_db
def test_commune_official_renames_and_deactivates_a_hamlet(official, hamlet, hai_dong):
    client = _client(official)
    response = client.post(
        reverse("outreach:hamlet_edit", args=[hamlet.pk]), {"name": "Thôn Đông Hải"}
    )
    assert response.status_code == 302
    hamlet.refresh_from_db()
    assert (hamlet.name, hamlet.is_active) == ("Thôn Đông Hải", False)
    # An inactive hamlet is no longer offered for a new team.
    form = client.get(reverse("outreach:team_create")).context["form"]
    assert hamlet not in form.fields["hamlet"].queryset


@pytest.mark.django_db
def test_another_communes_hamlet_answers_404(official, tran_te_xuong):
    far = HamletFactory(commune=tran_te_xuong)
    client = _client(official)
    url = reverse("outreach:hamlet_edit", args=[far.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "Đổi tên", "is_active": "on"}).status_code == 404
    far.refresh_from_db()
    assert far.name != "Đổi tên"


@pytest.mark.django_db
def test_hamlet_services_refuse_officials_of_another_commune(tran_te_xuong, hamlet):
    stranger = commune_official(tran_te_xuong)
    with pytest.raises(NotAllowed):
        hamlet_create(by=stranger, commune=hamlet.commune, name="Thôn Mới")
    with pytest.raises(NotAllowed):
        hamlet_update(by=stranger, hamlet=hamlet, name="Thôn Mới", is_active=True)
    hamlet.refresh_from_db()
    assert hamlet.name == "Thôn Đông"
    assert not Hamlet.objects.filter(name="Thôn Mới").exists()


# --- Query counts --------------------------------------------------------------------


def _teams_with_members(commune, hamlet, count: int) -> None:
    for _ in range(count):
        team = TeamFactory(commune=commune, hamlet=hamlet)
        MemberFactory(team=team, role=Member.Role.LEADER)
        MemberFactory(team=team, role=Member.Role.DEPUTY, on_zalo_oa=True)
        MemberFactory(team=team)


def _queries(client, url, params=None) -> int:
    client.get(url, params)  # fills the demo-ribbon cache and the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["outreach:team_list", "outreach:member_list"])
def test_list_pages_make_the_same_number_of_queries_for_2_or_20_teams(
    page, official, hai_dong, hamlet
):
    district = district_staff(hai_dong.district)
    url = reverse(page)
    filtered = {"q": "", "hamlet": hamlet.pk, "status": "all"}

    _teams_with_members(hai_dong, hamlet, 2)
    few = [
        _queries(_client(official), url),
        _queries(_client(official), url, filtered),
        _queries(_client(district), url, {"commune": hai_dong.pk}),
    ]
    _teams_with_members(hai_dong, hamlet, 18)
    many = [
        _queries(_client(official), url),
        _queries(_client(official), url, filtered),
        _queries(_client(district), url, {"commune": hai_dong.pk}),
    ]
    assert few == many
    assert max(many) <= 12


@pytest.mark.django_db
def test_hamlet_list_makes_the_same_number_of_queries_for_2_or_20_hamlets(official, hai_dong):
    def add(count):
        for _ in range(count):
            hamlet = HamletFactory(commune=hai_dong)
            TeamFactory(commune=hai_dong, hamlet=hamlet)
            HouseholdFactory(hamlet=hamlet)

    add(2)
    few = _queries(_client(official), reverse("outreach:hamlet_list"))
    add(18)
    assert _queries(_client(official), reverse("outreach:hamlet_list")) == few
