import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import ScopeLevel, User
from accounts.roles import (
    COMMUNE_OFFICIALS,
    DISTRICT_STAFF,
    PROVINCIAL_STAFF,
    ROLE_PERMISSIONS,
    TEAM_LEADERS,
)
from accounts.services import user_create, user_save
from communes.models import Commune, District
from core.phone import InvalidPhone, normalize_phone


@pytest.mark.django_db
def test_the_migration_creates_the_four_role_groups_with_their_permissions():
    groups = {g.name: g for g in Group.objects.prefetch_related("permissions__content_type")}
    assert set(groups) >= {PROVINCIAL_STAFF, DISTRICT_STAFF, COMMUNE_OFFICIALS, TEAM_LEADERS}
    for role, wanted in ROLE_PERMISSIONS.items():
        held = {f"{p.content_type.app_label}.{p.codename}" for p in groups[role].permissions.all()}
        assert held == set(wanted)


@pytest.mark.django_db
def test_only_commune_officials_may_change_hamlets(divisions):
    official = user_create(
        username="xa",
        password="pw-123456",
        scope_level=ScopeLevel.COMMUNE,
        commune=Commune.objects.get(code=14269),
    )
    staff = user_create(
        username="huyen",
        password="pw-123456",
        scope_level=ScopeLevel.DISTRICT,
        district=District.objects.get(code=366),
    )
    assert official.has_perm("communes.change_hamlet")
    assert staff.has_perm("communes.view_hamlet") and not staff.has_perm("communes.change_hamlet")
    assert not staff.has_perm("communes.change_commune")


@pytest.mark.django_db
def test_the_role_group_follows_the_scope_and_other_groups_are_kept(divisions):
    other = Group.objects.create(name="newsletter editors")
    user = user_create(
        username="0912345678",
        password=None,
        scope_level=ScopeLevel.COMMUNE,
        commune=Commune.objects.get(code=14269),
    )
    user.groups.add(other)
    assert set(user.groups.values_list("name", flat=True)) == {COMMUNE_OFFICIALS, other.name}

    user.scope_level = ScopeLevel.DISTRICT
    user.scope_commune = None
    user.scope_district = District.objects.get(code=366)
    user_save(user=user)

    assert set(user.groups.values_list("name", flat=True)) == {DISTRICT_STAFF, other.name}
    assert not user.has_usable_password()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0084-912.345.678", "0912345678"),
        ("01662345678", "0362345678"),  # Viettel's old 0166 is 036 since 2018
        ("0123 456 7890", "0834567890"),  # VinaPhone's old 0123 is 083
        ("0199 123 4567", "0591234567"),
    ],
)
def test_phone_numbers_are_stored_as_ten_digits(typed, stored):
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "12345", "0212345678", "09123456789", "091234567a", "0111111111"]
)
def test_what_is_not_a_vietnamese_mobile_number_is_refused(typed):
    with pytest.raises(InvalidPhone):
        normalize_phone(typed)


@pytest.mark.django_db
def test_a_team_leader_logs_in_with_the_phone_number_typed_any_way(client):
    User.objects.create_user("0912345678", password="correct horse 42")
    response = client.post(
        reverse("login"), {"username": "+84 912 345 678", "password": "correct horse 42"}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


@pytest.mark.django_db
def test_a_wrong_password_is_refused_in_vietnamese_and_the_login_name_kept(client):
    User.objects.create_user("0912345678", password="correct horse 42")
    response = client.post(reverse("login"), {"username": "0912345678", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in html
    assert 'value="0912345678"' in html
    assert "_auth_user_id" not in client.session
