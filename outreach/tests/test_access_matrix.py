"""Who may open which outreach page, for each role, inside and outside their scope.

Two teams in two communes of two districts: "ours" (Xã Hải Đông, Hải Hậu) and "theirs"
(Phường Trần Tế Xương, Thành phố Nam Định). Each role is checked against every page, for
an object of each team: what it may read answers 200, what lies outside its scope 404
(it does not exist for them), what its role may not do 403, and lists never show the
other team's rows.
"""

import datetime as dt
import uuid

import pytest
from django.urls import reverse

from accounts.models import ScopeLevel
from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, Province
from outreach.models import Member, Service
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

OK, GONE, FORBIDDEN, LOGIN = 200, 404, 403, 302


def _side(commune: Commune, tag: str, admin) -> dict:
    hamlet = HamletFactory(commune=commune, name=f"Thôn {tag}")
    team = TeamFactory(commune=commune, hamlet=hamlet, name=f"Tổ {tag}")
    leader_member = MemberFactory(team=team, role=Member.Role.LEADER, full_name=f"Tổ trưởng {tag}")
    member = MemberFactory(team=team, full_name=f"Thành viên {tag}")
    leader, _password = member_login_create(by=admin, member=leader_member)
    visit, _created = visit_record(
        by=leader,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label=f"Số 1 nhà {tag}",
        data=VisitData(
            visited_on=dt.date(2026, 11, 2),
            members=[leader_member, member],
            services=list(Service.objects.filter(code="ecommerce")),
            residents_helped=1,
        ),
    )
    return {
        "commune": commune,
        "hamlet": hamlet,
        "team": team,
        "member": member,
        "leader": leader,
        "visit": visit,
    }


@pytest.fixture
def world(divisions):
    admin = UserFactory(is_superuser=True)
    ours = _side(Commune.objects.get(code=14269), "Ours", admin)
    theirs = _side(Commune.objects.get(code=13636), "Theirs", admin)
    return {"ours": ours, "theirs": theirs}


ROLES = {
    "anonymous": lambda w: None,
    "no scope": lambda w: UserFactory(scope_level=""),
    "provincial staff": lambda w: province_staff(Province.objects.get()),
    "district staff": lambda w: district_staff(w["ours"]["commune"].district),
    "commune official": lambda w: commune_official(w["ours"]["commune"]),
    "team leader": lambda w: w["ours"]["leader"],
}

# (page, side) -> expected status for each role, in the order of ROLES.
DETAIL_PAGES = {
    "team_detail": lambda s: reverse("outreach:team_detail", args=[s["team"].pk]),
    "member_detail": lambda s: reverse("outreach:member_detail", args=[s["member"].pk]),
    "member_edit": lambda s: reverse("outreach:member_edit", args=[s["member"].pk]),
    "member_create": lambda s: reverse("outreach:member_create", args=[s["team"].pk]),
    "team_edit": lambda s: reverse("outreach:team_edit", args=[s["team"].pk]),
    "visit_detail": lambda s: reverse("outreach:visit_detail", args=[s["visit"].pk]),
    "visit_edit": lambda s: reverse("outreach:visit_edit", args=[s["visit"].pk]),
    "hamlet_edit": lambda s: reverse("outreach:hamlet_edit", args=[s["hamlet"].pk]),
}

#                     anon   noscope    province   district   official   leader
EXPECTED_OURS = {
    "team_detail": (LOGIN, FORBIDDEN, OK, OK, OK, OK),
    "member_detail": (LOGIN, FORBIDDEN, OK, OK, OK, OK),
    "member_edit": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "member_create": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "team_edit": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
    "visit_detail": (LOGIN, FORBIDDEN, OK, OK, OK, OK),
    "visit_edit": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "hamlet_edit": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
}
# Outside the scope nothing exists; a page the role may not use at all stays 403.
EXPECTED_THEIRS = {
    "team_detail": (LOGIN, FORBIDDEN, OK, GONE, GONE, GONE),
    "member_detail": (LOGIN, FORBIDDEN, OK, GONE, GONE, GONE),
    "member_edit": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, GONE, GONE),
    "member_create": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, GONE, GONE),
    "team_edit": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, GONE, FORBIDDEN),
    "visit_detail": (LOGIN, FORBIDDEN, OK, GONE, GONE, GONE),
    "visit_edit": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, GONE),
    "hamlet_edit": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, GONE, FORBIDDEN),
}

LIST_PAGES = ["team_list", "member_list", "visit_list", "household_list", "hamlet_list"]
# Which list pages each role may open (the others answer 403, or the login page).
LISTS_ALLOWED = {
    "anonymous": set(),
    "no scope": set(),
    "provincial staff": set(LIST_PAGES),
    "district staff": set(LIST_PAGES),
    "commune official": set(LIST_PAGES),
    "team leader": set(LIST_PAGES),
}
# What a list shows of a side: the team's name on team lists, the member's name, etc.
LIST_MARKER = {
    "team_list": lambda s: s["team"].name,
    "member_list": lambda s: s["member"].full_name,
    "visit_list": lambda s: s["visit"].household.address_label,
    "household_list": lambda s: s["visit"].household.address_label,
    "hamlet_list": lambda s: s["hamlet"].name,
}

ROLE_NAMES = list(ROLES)


def _client_for(client, world, role):
    user = ROLES[role](world)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLE_NAMES)
@pytest.mark.parametrize("page", list(DETAIL_PAGES))
def test_detail_and_form_pages_answer_by_role_and_scope(client, world, role, page):
    client = _client_for(client, world, role)
    index = ROLE_NAMES.index(role)
    for side, expected in (("ours", EXPECTED_OURS), ("theirs", EXPECTED_THEIRS)):
        url = DETAIL_PAGES[page](world[side])
        status = client.get(url).status_code
        assert status == expected[page][index], f"{role} {page} {side}: {status}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLE_NAMES)
@pytest.mark.parametrize("page", LIST_PAGES)
def test_lists_show_only_what_the_scope_holds(client, world, role, page):
    client = _client_for(client, world, role)
    response = client.get(reverse(f"outreach:{page}"))
    if page not in LISTS_ALLOWED[role]:
        assert response.status_code in (LOGIN, FORBIDDEN)
        return
    assert response.status_code == OK
    html = response.content.decode()
    ours, theirs = (LIST_MARKER[page](world[side]) for side in ("ours", "theirs"))
    assert ours in html
    sees_province = role == "provincial staff"
    assert (theirs in html) == sees_province, f"{role} {page} shows the other commune's rows"


@pytest.mark.django_db
def test_only_team_leaders_open_the_visit_form(client, world):
    for role in ROLE_NAMES:
        client.logout()
        client = _client_for(client, world, role)
        status = client.get(reverse("outreach:visit_new")).status_code
        expected = {"anonymous": LOGIN, "team leader": OK}.get(role, FORBIDDEN)
        assert status == expected, role


@pytest.mark.django_db
def test_a_leader_posting_another_teams_id_in_a_hidden_field_still_logs_for_their_own(
    client, world
):
    """The team comes from the leader's scope: a tampered team field changes nothing."""
    ours, theirs = world["ours"], world["theirs"]
    client.force_login(ours["leader"])
    form = client.get(reverse("outreach:visit_new")).context["form"]
    data = {
        "submission_id": str(uuid.uuid4()),
        "consent": "given",
        "visited_on": "2026-11-03",
        "hamlet": ours["hamlet"].pk,
        "address_label": "Số 9",
        "members": [ours["member"].pk],
        "residents_helped": 1,
        "services": [Service.objects.get(code="ecommerce").pk],
        "outcome": "helped",
        "team": theirs["team"].pk,
        **{name: "" for name in form.fields if name.startswith("readiness_")},
    }
    response = client.post(reverse("outreach:visit_new"), data)
    assert response.status_code == 302
    assert theirs["team"].visits.count() == 1  # only the fixture's own visit
    assert ours["team"].visits.count() == 2


@pytest.mark.django_db
def test_the_scope_levels_of_the_matrix_are_the_four_roles(world):
    # Guards the matrix itself: each non-anonymous role maps to the expected scope.
    levels = {role: getattr(ROLES[role](world), "scope_level", None) for role in ROLE_NAMES}
    assert levels == {
        "anonymous": None,
        "no scope": "",
        "provincial staff": ScopeLevel.PROVINCE,
        "district staff": ScopeLevel.DISTRICT,
        "commune official": ScopeLevel.COMMUNE,
        "team leader": ScopeLevel.TEAM,
    }
