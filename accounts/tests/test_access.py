"""The one access path: a page fetches through the user's scope (outside it: not found),
every service asks `ensure_can`, every page asks `permission_needed`.

The matrix walks each role over objects inside and outside its scope: a hamlet (a row of
a commune), a row of a team, and a row kept at one level, as the apps above register
theirs.
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.utils import translation

from accounts import access, scopes
from accounts.access import NotAllowed, Place, can, ensure_can, get_for_user, register_rule
from accounts.decorators import PermissionNeeded, permission_needed
from accounts.models import ScopeLevel
from accounts.scopes import register_team_resolver, scope_for
from accounts.tests.factories import (
    UserFactory,
    commune_official,
    district_staff,
    province_staff,
)
from communes.models import Commune, District, Hamlet, Province

HAI_HAU = 366
HAI_DONG = 14269  # in Hải Hậu
THINH_LONG = 14221  # in Hải Hậu too
TRAN_TE_XUONG = 13636  # in Thành phố Nam Định
LEADERS_TEAM, OTHER_TEAM = 41, 42

ROLE = "Your role does not allow this change."
OUTSIDE = "This is outside the area you work in."
NOT_THIS_LEVEL = "You keep only your own level's."


@dataclass
class TeamRow:
    """Stands for a team's row (a member, a visit) of the outreach app."""

    commune_id: int
    team_id: int


@dataclass
class KeptRow:
    """Stands for a row kept at one level (a training session)."""

    level: str
    district_id: int | None = None
    commune_id: int | None = None


@pytest.fixture(autouse=True)
def english():
    """The refusals in their source words (the portal's own language is Vietnamese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def rules(monkeypatch):
    """The rules of the stand-ins, registered as an app registers its models'."""
    monkeypatch.setattr(access, "_rules", dict(access._rules))
    register_rule(TeamRow, lambda row: Place(commune_id=row.commune_id, team_id=row.team_id))
    register_rule(
        KeptRow,
        lambda row: Place(level=row.level, district_id=row.district_id, commune_id=row.commune_id),
        outside=NOT_THIS_LEVEL,
    )


@pytest.fixture
def places(divisions):
    communes = {
        code: Commune.objects.select_related("district").get(code=code)
        for code in (HAI_DONG, THINH_LONG, TRAN_TE_XUONG)
    }
    hamlets = {
        code: Hamlet.objects.create(commune=c, name="Thôn 1") for code, c in communes.items()
    }
    return communes, hamlets


@pytest.fixture
def users(places, monkeypatch):
    communes, _hamlets = places
    hai_dong = communes[HAI_DONG]
    leader = UserFactory(scope_level=ScopeLevel.TEAM)
    monkeypatch.setattr(scopes, "_team_resolver", None)
    register_team_resolver(
        lambda user: [(LEADERS_TEAM, hai_dong.pk, hai_dong.district_id)] if user == leader else []
    )
    return {
        "admin": UserFactory(is_superuser=True),
        "province": province_staff(Province.objects.get()),
        "district": district_staff(District.objects.get(code=HAI_HAU)),
        "official": commune_official(hai_dong),
        "leader": leader,
        "no scope": UserFactory(),
    }


def _refusal(user, action, obj) -> str | None:
    """What the user is told when refused, or None when allowed."""
    try:
        ensure_can(user, action, obj)
    except NotAllowed as refused:
        return str(refused)
    return None


# --- ensure_can: role × scope × object -----------------------------------------------------

# Everyone but a user without a scope reads hamlets; each in their own area.
READ_HAMLET = {
    # role: (Hải Đông, Thịnh Long in the same district, Trần Tế Xương in another)
    "admin": (None, None, None),
    "province": (None, None, None),
    "district": (None, None, OUTSIDE),
    "official": (None, OUTSIDE, OUTSIDE),
    "leader": (None, OUTSIDE, OUTSIDE),
    "no scope": (ROLE, ROLE, ROLE),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", READ_HAMLET)
def test_each_role_reads_the_hamlets_of_its_own_area_only(users, places, role):
    _communes, hamlets = places
    told = tuple(
        _refusal(users[role], "communes.view_hamlet", hamlets[code])
        for code in (HAI_DONG, THINH_LONG, TRAN_TE_XUONG)
    )
    assert told == READ_HAMLET[role]


# Only commune officials (and admins) change hamlets: staff above read, leaders do not.
CHANGE_HAMLET = {
    "admin": (None, None),
    "province": (ROLE, ROLE),
    "district": (ROLE, ROLE),
    "official": (None, OUTSIDE),
    "leader": (ROLE, ROLE),
    "no scope": (ROLE, ROLE),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", CHANGE_HAMLET)
def test_only_officials_change_hamlets_and_only_in_their_commune(users, places, role):
    communes, hamlets = places
    told = tuple(
        _refusal(users[role], "communes.change_hamlet", hamlets[code])
        for code in (HAI_DONG, THINH_LONG)
    )
    assert told == CHANGE_HAMLET[role]
    # A new hamlet goes into a commune: the same answer.
    told = tuple(
        _refusal(users[role], "communes.add_hamlet", communes[code])
        for code in (HAI_DONG, THINH_LONG)
    )
    assert told == CHANGE_HAMLET[role]


# Members are added by commune officials in their commune, by leaders to their own team.
ADD_MEMBER = {
    # role: (leader's team, another team of Hải Đông, a team of Thịnh Long)
    "admin": (None, None, None),
    "province": (ROLE, ROLE, ROLE),
    "district": (ROLE, ROLE, ROLE),
    "official": (None, None, OUTSIDE),
    "leader": (None, OUTSIDE, OUTSIDE),
    "no scope": (ROLE, ROLE, ROLE),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ADD_MEMBER)
def test_leaders_change_their_own_teams_rows_and_officials_their_communes(
    users, places, rules, role
):
    communes, _hamlets = places
    rows = (
        TeamRow(communes[HAI_DONG].pk, LEADERS_TEAM),
        TeamRow(communes[HAI_DONG].pk, OTHER_TEAM),
        TeamRow(communes[THINH_LONG].pk, 43),
    )
    told = tuple(_refusal(users[role], "outreach.add_member", row) for row in rows)
    assert told == ADD_MEMBER[role]


# Each level keeps its own sessions: a district's staff not its communes', an official
# not the district's.
KEEP_SESSION = {
    # role: (province, Hải Hậu, Hải Đông, Thịnh Long)
    "admin": (None, None, None, None),
    "province": (None, NOT_THIS_LEVEL, NOT_THIS_LEVEL, NOT_THIS_LEVEL),
    "district": (NOT_THIS_LEVEL, None, NOT_THIS_LEVEL, NOT_THIS_LEVEL),
    "official": (NOT_THIS_LEVEL, NOT_THIS_LEVEL, None, NOT_THIS_LEVEL),
    "leader": (ROLE, ROLE, ROLE, ROLE),
    "no scope": (ROLE, ROLE, ROLE, ROLE),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", KEEP_SESSION)
def test_rows_kept_at_a_level_are_kept_by_that_level_in_its_own_place(users, places, rules, role):
    communes, _hamlets = places
    rows = (
        KeptRow(ScopeLevel.PROVINCE),
        KeptRow(ScopeLevel.DISTRICT, district_id=District.objects.get(code=HAI_HAU).pk),
        KeptRow(ScopeLevel.COMMUNE, commune_id=communes[HAI_DONG].pk),
        KeptRow(ScopeLevel.COMMUNE, commune_id=communes[THINH_LONG].pk),
    )
    told = tuple(_refusal(users[role], "trainings.add_trainingsession", row) for row in rows)
    assert told == KEEP_SESSION[role]


@pytest.mark.django_db
def test_a_models_own_rule_is_asked_after_the_role_and_the_place(users, places, monkeypatch):
    monkeypatch.setattr(access, "_rules", dict(access._rules))
    asked = []

    def frozen(scope, action, row):
        asked.append(action)
        return "Frozen for leaders." if scope.level == ScopeLevel.TEAM else None

    register_rule(
        TeamRow, lambda row: Place(commune_id=row.commune_id, team_id=row.team_id), also=frozen
    )
    communes, _hamlets = places
    own = TeamRow(communes[HAI_DONG].pk, LEADERS_TEAM)

    assert _refusal(users["leader"], "outreach.add_member", own) == "Frozen for leaders."
    assert _refusal(users["official"], "outreach.add_member", own) is None
    # Refused for the role or the place first: the rule is not asked.
    assert _refusal(users["district"], "outreach.add_member", own) == ROLE
    assert _refusal(users["leader"], "outreach.add_member", TeamRow(own.commune_id, 99)) == OUTSIDE
    assert asked == ["outreach.add_member", "outreach.add_member"]


@pytest.mark.django_db
def test_a_service_may_say_why_a_role_is_refused_in_its_own_words(users, places):
    _communes, hamlets = places
    told = "Only a personal data officer can erase personal data."
    with pytest.raises(NotAllowed, match=told):
        ensure_can(
            users["official"], "accounts.erase_personal_data", hamlets[HAI_DONG], refusal=told
        )
    # Its words are for the role's refusal only: outside the area is said as usual.
    with pytest.raises(NotAllowed, match=OUTSIDE):
        ensure_can(users["official"], "communes.change_hamlet", hamlets[THINH_LONG], refusal=told)


@pytest.mark.django_db
def test_a_change_of_no_place_is_decided_by_the_permission_alone(users):
    assert _refusal(users["province"], "trainings.add_courseenrolment", None) is None
    assert _refusal(users["admin"], "trainings.add_courseenrolment", None) is None
    assert _refusal(users["official"], "trainings.add_courseenrolment", None) == ROLE


@pytest.mark.django_db
def test_the_portal_itself_may_do_anything(places):
    _communes, hamlets = places
    ensure_can(None, "communes.change_hamlet", hamlets[TRAN_TE_XUONG])
    ensure_can(None, "trainings.add_courseenrolment", None)


@pytest.mark.django_db
def test_can_answers_what_ensure_can_decides(users, places):
    _communes, hamlets = places
    official = users["official"]
    assert can(official, "communes.change_hamlet", hamlets[HAI_DONG])
    assert not can(official, "communes.change_hamlet", hamlets[THINH_LONG])
    assert not can(users["district"], "communes.change_hamlet", hamlets[HAI_DONG])


@pytest.mark.django_db
def test_a_refusal_is_a_403_and_an_unknown_kind_of_object_an_error(users):
    assert issubclass(NotAllowed, PermissionDenied)
    with pytest.raises(LookupError):
        ensure_can(users["admin"], "communes.change_hamlet", object())


@pytest.mark.django_db
def test_an_officials_check_of_a_hamlet_in_their_commune_asks_the_database_nothing(
    users, places, django_assert_num_queries
):
    _communes, hamlets = places
    official = users["official"]
    scope_for(official)  # once per request, before any check
    official.has_perm("communes.change_hamlet")  # permissions are cached per user too
    with django_assert_num_queries(0):
        ensure_can(official, "communes.change_hamlet", hamlets[HAI_DONG])


# --- get_for_user: fetch through the scope ---------------------------------------------------


def _hamlets_visible(user):
    return scope_for(user).filter(Hamlet.objects.all(), commune="commune")


@pytest.mark.django_db
def test_an_object_outside_the_scope_is_not_found_like_one_that_does_not_exist(users, places):
    _communes, hamlets = places
    official = users["official"]
    assert get_for_user(official, _hamlets_visible, pk=hamlets[HAI_DONG].pk) == hamlets[HAI_DONG]
    for pk in (hamlets[THINH_LONG].pk, hamlets[TRAN_TE_XUONG].pk, 10**9):
        with pytest.raises(Http404):
            get_for_user(official, _hamlets_visible, pk=pk)
    # The district sees both of its communes' hamlets, and still not another district's.
    district = users["district"]
    assert get_for_user(district, _hamlets_visible, pk=hamlets[THINH_LONG].pk)
    with pytest.raises(Http404):
        get_for_user(district, _hamlets_visible, pk=hamlets[TRAN_TE_XUONG].pk)


@pytest.mark.django_db
def test_a_fetch_narrowed_by_the_lookup_finds_nothing_else(users, places):
    _communes, hamlets = places
    hamlet = hamlets[HAI_DONG]
    Hamlet.objects.filter(pk=hamlet.pk).update(is_active=False)
    with pytest.raises(Http404):
        get_for_user(users["official"], _hamlets_visible, pk=hamlet.pk, is_active=True)


@pytest.mark.django_db
def test_a_user_without_a_scope_finds_nothing(users, places):
    _communes, hamlets = places
    with pytest.raises(Http404):
        get_for_user(users["no scope"], _hamlets_visible, pk=hamlets[HAI_DONG].pk)


# --- permission_needed: the one view decorator -----------------------------------------------


def _page(request):
    return HttpResponse("the page")


def _get(user):
    request = RequestFactory().get("/somewhere/")
    request.user = user
    return request


@pytest.mark.django_db
def test_a_page_sends_a_visitor_to_log_in_first(users):
    view = permission_needed("communes.change_hamlet")(_page)
    response = view(_get(AnonymousUser()))
    assert response.status_code == 302 and "/somewhere/" in response["Location"]


@pytest.mark.django_db
def test_a_role_without_the_permission_is_told_which_roles_have_it(users):
    view = permission_needed("communes.change_hamlet")(_page)
    with pytest.raises(PermissionNeeded) as refused:
        view(_get(users["district"]))
    assert refused.value.permission == "communes.change_hamlet"
    assert view(_get(users["official"])).content == b"the page"


@pytest.mark.django_db
def test_a_page_may_say_why_instead_of_naming_the_roles(users):
    view = permission_needed("communes.change_hamlet", refusal="Not for your role.")(_page)
    with pytest.raises(PermissionDenied) as refused:
        view(_get(users["district"]))
    assert not isinstance(refused.value, PermissionNeeded)
    assert str(refused.value) == "Not for your role."


def _commune_level(scope) -> bool:
    return scope.level == ScopeLevel.COMMUNE


@pytest.mark.django_db
def test_a_page_for_some_levels_refuses_the_others_in_its_own_words(users):
    view = permission_needed(
        "communes.view_hamlet",
        refusal="Not for your role.",
        where=_commune_level,
        where_refusal="Officials only.",
    )(_page)
    assert view(_get(users["official"])).content == b"the page"
    for role, told in (("province", "Officials only."), ("no scope", "Not for your role.")):
        with pytest.raises(PermissionDenied) as refused:
            view(_get(users[role]))
        assert str(refused.value) == told
    # Without words of its own, a level turned down is told the page's refusal.
    view = permission_needed(where=_commune_level, refusal="Officials only.")(_page)
    with pytest.raises(PermissionDenied, match="Officials only."):
        view(_get(users["district"]))
