"""Who sees what: the scope helper every selector filters through."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError

from accounts import scopes
from accounts.models import ScopeLevel, User
from accounts.scopes import register_team_resolver, scope_for
from accounts.tests.factories import (
    UserFactory,
    commune_official,
    district_staff,
    province_staff,
)
from communes.models import Commune, District, Hamlet, Province

HAI_HAU = 366
HAI_DONG = 14269


def _seen(user):
    scope = scope_for(user)
    return (
        set(scope.districts().values_list("code", flat=True)),
        set(scope.communes().values_list("code", flat=True)),
    )


@pytest.fixture
def hamlets(divisions):
    """One hamlet in Hải Đông and one in a commune of another district."""
    return (
        Hamlet.objects.create(commune=Commune.objects.get(code=HAI_DONG), name="Thôn 1"),
        Hamlet.objects.create(commune=Commune.objects.get(code=13636), name="Tổ dân phố 1"),
    )


@pytest.mark.django_db
def test_admins_and_provincial_staff_see_every_district_and_commune(divisions):
    all_districts = set(District.objects.values_list("code", flat=True))
    all_communes = set(Commune.objects.values_list("code", flat=True))
    admin = UserFactory(is_superuser=True)
    staff = province_staff(Province.objects.get())

    assert _seen(admin) == (all_districts, all_communes)
    assert _seen(staff) == (all_districts, all_communes)
    assert len(all_communes) == 226


@pytest.mark.django_db
def test_district_staff_see_exactly_their_district_and_its_communes(divisions):
    district = District.objects.get(code=HAI_HAU)
    expected = set(district.communes.values_list("code", flat=True))

    assert _seen(district_staff(district)) == ({HAI_HAU}, expected)
    assert len(expected) == 34


@pytest.mark.django_db
def test_commune_officials_see_their_commune_and_its_district_only(divisions):
    official = commune_official(Commune.objects.get(code=HAI_DONG))
    assert _seen(official) == ({HAI_HAU}, {HAI_DONG})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_user",
    [
        lambda: UserFactory(scope_level=""),
        lambda: UserFactory(scope_level=ScopeLevel.TEAM),
        lambda: UserFactory(
            scope_level=ScopeLevel.PROVINCE,
            scope_province=Province.objects.get(),
            is_active=False,
        ),
        lambda: AnonymousUser(),
    ],
    ids=["no scope", "team leader without a team", "deactivated", "anonymous"],
)
def test_users_without_a_usable_scope_see_nothing(divisions, hamlets, make_user):
    user = make_user()
    scope = scope_for(user)
    assert _seen(user) == (set(), set())
    assert not scope.filter(Hamlet.objects.all(), commune="commune").exists()


@pytest.mark.django_db
def test_rows_of_other_apps_are_filtered_through_their_lookup_paths(divisions, hamlets):
    inside, outside = hamlets
    for user in (
        district_staff(District.objects.get(code=HAI_HAU)),
        commune_official(Commune.objects.get(code=HAI_DONG)),
    ):
        visible = scope_for(user).filter(Hamlet.objects.all(), commune="commune")
        assert list(visible) == [inside]
    everyone = scope_for(province_staff(Province.objects.get()))
    assert set(everyone.filter(Hamlet.objects.all(), commune="commune")) == {inside, outside}


@pytest.mark.django_db
def test_a_team_leader_sees_the_teams_the_outreach_app_says_they_lead(divisions, monkeypatch):
    commune = Commune.objects.get(code=HAI_DONG)
    leader = UserFactory(scope_level=ScopeLevel.TEAM)
    monkeypatch.setattr(scopes, "_team_resolver", None)
    register_team_resolver(
        lambda user: [(41, commune.pk, commune.district_id)] if user == leader else []
    )

    scope = scope_for(leader)

    assert scope.team_ids == {41}
    assert _seen(leader) == ({HAI_HAU}, {HAI_DONG})
    # Rows that belong to a team are filtered by the team, not by its commune.
    assert str(scope.q(team="team", commune="team__commune")) == str(
        scopes.Q(team__in=frozenset({41}))
    )
    assert _seen(UserFactory(scope_level=ScopeLevel.TEAM)) == (set(), set())


@pytest.mark.django_db
def test_contains_commune_agrees_with_the_filter(divisions):
    hai_dong = Commune.objects.select_related("district").get(code=HAI_DONG)
    elsewhere = Commune.objects.select_related("district").get(code=13636)
    official = scope_for(commune_official(hai_dong))
    staff = scope_for(district_staff(hai_dong.district))
    nobody = scope_for(UserFactory())

    assert official.contains_commune(hai_dong) and not official.contains_commune(elsewhere)
    assert staff.contains_commune(hai_dong) and not staff.contains_commune(elsewhere)
    assert not nobody.contains_commune(hai_dong)


@pytest.mark.django_db
def test_the_database_refuses_a_scope_that_does_not_match_its_level(divisions):
    user = district_staff(District.objects.get(code=HAI_HAU))
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=user.pk).update(scope_commune=Commune.objects.get(code=HAI_DONG))


@pytest.mark.django_db
def test_validation_names_the_missing_or_extra_scope_unit(divisions):
    from django.core.exceptions import ValidationError

    user = User(username="x", scope_level=ScopeLevel.DISTRICT)
    with pytest.raises(ValidationError) as missing:
        user.full_clean(exclude=["password"])
    assert "scope_district" in missing.value.message_dict

    user.scope_district = District.objects.get(code=HAI_HAU)
    user.scope_commune = Commune.objects.get(code=HAI_DONG)
    with pytest.raises(ValidationError) as extra:
        user.full_clean(exclude=["password"])
    assert set(extra.value.message_dict) >= {"scope_commune"}
