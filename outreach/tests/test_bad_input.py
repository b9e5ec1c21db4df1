"""Hand-picked bad input on the forms people use most: refused with a clear Vietnamese
message beside the field, what was typed kept, and nothing stored."""

import datetime as dt
import unicodedata
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from outreach.models import Household, Member, Service, Team, Visit
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

NEW_VISIT = reverse("outreach:visit_new")
COMPOSED = "Nguyễn Thị Ánh"
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)


@pytest.fixture
def team(hai_dong):
    return TeamFactory(commune=hai_dong, name="Tổ CNS thôn Đông")


@pytest.fixture
def hamlet(hai_dong):
    return HamletFactory(commune=hai_dong, name="Thôn Đông")


@pytest.fixture
def leader(team, official):
    member = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=official, member=member)
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(user)
    return client


@pytest.fixture
def official_client(official):
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(official)
    return client


def _visit(team, hamlet, **overrides) -> dict:
    values = {
        "submission_id": str(uuid.uuid4()),
        "consent": Household.Consent.GIVEN,
        "visited_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "hamlet": str(hamlet.pk),
        "address_label": "Số 12, ngõ 3",
        "head_name": "Nguyễn Văn An",
        "members": [str(m.pk) for m in team.members.all()],
        "residents_helped": "2",
        "services": [str(Service.objects.get(code="portal_account").pk)],
        "outcome": Visit.Outcome.HELPED,
        "has_smartphone": "yes",
        "portal_account": "no",
        "notes": "",
    }
    values.update(overrides)
    return values


def _member(**overrides) -> dict:
    values = {
        "full_name": "Trần Văn Bình",
        "phone": "",
        "role": Member.Role.MEMBER,
        "gender": Member.Gender.MALE,
        "birth_year": "1999",
        "affiliation": Member.Affiliation.YOUTH_UNION,
        "joined_on": "2024-05-02",
    }
    values.update(overrides)
    return values


def _field_errors(response, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


# --- One name, however it was typed ------------------------------------------------------


@pytest.mark.django_db
def test_a_name_typed_decomposed_or_with_invisible_characters_is_stored_composed(
    official_client, team
):
    typed = "\u200b" + DECOMPOSED + "\ufeff"
    response = official_client.post(
        reverse("outreach:member_create", args=[team.pk]), _member(full_name=typed)
    )
    assert response.status_code == 302
    member = team.members.get(full_name=COMPOSED)
    assert unicodedata.is_normalized("NFC", member.full_name)
    # Found by the composed spelling, as the search box sends it.
    listed = official_client.get(reverse("outreach:team_detail", args=[team.pk]))
    assert COMPOSED in listed.content.decode()


@pytest.mark.django_db
def test_the_same_address_typed_two_ways_is_one_household(leader, team, hamlet):
    composed = "Số 5, ngõ Đình"
    decomposed = unicodedata.normalize("NFD", composed) + "\u200d"
    for address in (decomposed, composed):
        response = leader.post(NEW_VISIT, _visit(team, hamlet, address_label=address))
        assert response.status_code == 302
    household = Household.objects.get()
    assert household.address_label == composed
    assert household.visits.count() == 2


# --- Refused, kept, nothing stored -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, typed, message",
    [
        ("visited_on", "2026-02-30", "Nhập một ngày hợp lệ"),
        ("visited_on", "30/02/2026", "Nhập một ngày hợp lệ"),
        # A Vietnamese thousand, not one: more than the form allows.
        ("residents_helped", "1.000", "nhỏ hơn hoặc bằng 50"),
        ("residents_helped", "1,5", "Nhập một số nguyên"),
        ("residents_helped", "-3", "lớn hơn hoặc bằng 0"),
        ("residents_helped", "ba", "Nhập một số nguyên"),
        ("notes", "x" * 10_000, "2000"),
        ("address_label", "Số 1\x00", "ký tự rỗng"),
    ],
)
def test_a_visit_with_a_bad_value_is_refused_beside_the_field(
    leader, team, hamlet, field, typed, message
):
    response = leader.post(NEW_VISIT, _visit(team, hamlet, **{field: typed}))
    assert response.status_code == 200
    errors = _field_errors(response, field)
    assert any(message in e for e in errors), errors
    assert not Visit.objects.exists()
    assert not Household.objects.exists()
    # Everything else typed is still there.
    form = response.context["form"]
    assert form["head_name"].value() == "Nguyễn Văn An"


@pytest.mark.django_db
def test_a_visit_in_the_future_is_refused(leader, team, hamlet):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = leader.post(NEW_VISIT, _visit(team, hamlet, visited_on=tomorrow))
    assert _field_errors(response, "visited_on")
    assert not Visit.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "phone, stored",
    [
        ("+84 912 000 111", "0912000111"),
        ("0912 000 111", "0912000111"),
        ("0168 123 4567", "0381234567"),  # an old 11-digit number, converted
        ("09120001112", ""),  # 11 digits that were never a number
        ("0912abc111", ""),
        ("+1 202 555 0100", ""),
    ],
)
def test_phone_numbers_typed_every_way(official_client, team, phone, stored):
    response = official_client.post(
        reverse("outreach:member_create", args=[team.pk]), _member(phone=phone)
    )
    created = team.members.filter(full_name="Trần Văn Bình").first()
    if stored == "":
        assert response.status_code == 200
        errors = _field_errors(response, "phone")
        assert any("số điện thoại di động Việt Nam" in e for e in errors), errors
        assert created is None
        assert response.context["form"]["phone"].value() == phone
    else:
        assert response.status_code == 302, response.context["form"].errors
        assert created.phone == stored


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, typed",
    [("full_name", "Nguyễn " * 2000), ("full_name", "Lan\x00"), ("birth_year", "1998,5")],
)
def test_a_member_with_a_bad_value_is_refused_and_nothing_stored(
    official_client, team, field, typed
):
    before = Member.objects.count()
    response = official_client.post(
        reverse("outreach:member_create", args=[team.pk]), _member(**{field: typed})
    )
    assert response.status_code == 200
    assert _field_errors(response, field)
    assert Member.objects.count() == before


# --- Markup is text --------------------------------------------------------------------


@pytest.mark.django_db
def test_markup_in_names_is_shown_as_text_on_every_page_that_shows_them(
    official_client, leader, team, hamlet, hai_dong
):
    script = "<script>alert(1)</script>"
    official_client.post(
        reverse("outreach:member_create", args=[team.pk]), _member(full_name=f"Lan {script}")
    )
    official_client.post(
        reverse("outreach:team_edit", args=[team.pk]),
        {"name": f"Tổ {script}", "formed_on": "2024-01-02", "hamlet": ""},
    )
    leader.post(NEW_VISIT, _visit(team, hamlet, head_name=f"Hộ {script}", notes=script))
    team = Team.objects.get(pk=team.pk)
    visit = Visit.objects.get()
    pages = [
        reverse("outreach:team_list"),
        reverse("outreach:team_detail", args=[team.pk]),
        reverse("outreach:visit_list"),
        reverse("outreach:visit_detail", args=[visit.pk]),
        reverse("outreach:household_list"),
    ]
    for page in pages:
        body = official_client.get(page).content.decode()
        assert "<script>alert(1)" not in body, page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in official_client.get(pages[1]).content.decode()
