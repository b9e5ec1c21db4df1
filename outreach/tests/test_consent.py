"""A household is recorded only with its consent; one that declines still counts."""

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import commune_official
from communes.models import Commune
from outreach.models import Household, Member, Service, Visit
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, HouseholdFactory, MemberFactory, TeamFactory

NEW = reverse("outreach:visit_new")


@pytest.fixture
def place(divisions):
    commune = Commune.objects.get(code=14269)
    team = TeamFactory(commune=commune)
    hamlet = HamletFactory(commune=commune, name="Thôn Đông")
    member = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=commune_official(commune), member=member)
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(user)
    return client, user, team, hamlet


def _visit(team, hamlet, **overrides) -> dict:
    values = {
        "submission_id": str(uuid.uuid4()),
        "visited_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "hamlet": str(hamlet.pk),
        "address_label": "Số 3, ngõ Đình",
        "head_name": "Nguyễn Văn Thành",
        "members": [str(m.pk) for m in team.members.all()],
        "residents_helped": "2",
        "services": [str(Service.objects.get(code="portal_account").pk)],
        "outcome": Visit.Outcome.HELPED,
    }
    values.update(overrides)
    return values


@pytest.mark.django_db
def test_a_new_household_is_not_recorded_until_its_answer_is_ticked(place):
    client, _user, team, hamlet = place
    response = client.post(NEW, _visit(team, hamlet))
    assert response.status_code == 200
    errors = response.context["form"].errors["consent"]
    assert any("thông báo" in e for e in errors), errors
    assert response.context["form"]["address_label"].value() == "Số 3, ngõ Đình"
    assert not Visit.objects.exists() and not Household.objects.exists()


@pytest.mark.django_db
def test_an_agreeing_household_is_recorded_with_the_notice_who_asked_and_when(place, settings):
    settings.CONSENT_NOTICE_VERSION = "2026-01"
    client, user, team, hamlet = place
    response = client.post(NEW, _visit(team, hamlet, consent=Household.Consent.GIVEN))
    assert response.status_code == 302
    household = Household.objects.get()
    assert (household.consent, household.consent_notice, household.consent_recorded_by) == (
        Household.Consent.GIVEN,
        "2026-01",
        user,
    )
    assert household.consent_recorded_at is not None
    # The next visit finds the household and asks nothing again.
    again = client.post(NEW, _visit(team, hamlet))
    assert again.status_code == 302
    assert Visit.objects.count() == 2 and Household.objects.count() == 1


@pytest.mark.django_db
def test_a_declining_household_is_kept_with_its_hamlet_only_and_its_visit_counts(place):
    client, _user, team, hamlet = place
    declined = _visit(
        team,
        hamlet,
        consent=Household.Consent.DECLINED,
        address_label="Số 8, ngõ Chợ",
        head_name="Trần Thị Lụa",
    )
    # What was typed is not dropped silently: the leader is told first, and confirms.
    warned = client.post(NEW, declined)
    assert warned.status_code == 200
    assert "address_label" in warned.context["form"].errors
    assert not Visit.objects.exists() and not Household.objects.exists()
    response = client.post(NEW, {**declined, "drop_address": "on"})
    assert response.status_code == 302
    household = Household.objects.get()
    assert household.address_label == f"#{household.pk}"
    assert household.head_name == "" and household.phone == ""
    assert household.consent == Household.Consent.DECLINED
    assert household.hamlet == hamlet
    assert Visit.objects.get().household == household
    assert not Household.objects.filter(address_label__icontains="Chợ").exists()

    # Declining needs no address; a second household that declines is one of its own.
    other = client.post(
        NEW,
        _visit(team, hamlet, consent=Household.Consent.DECLINED, address_label="", head_name=""),
    )
    assert other.status_code == 302
    assert Household.objects.filter(consent=Household.Consent.DECLINED).count() == 2


@pytest.mark.django_db
def test_a_household_recorded_before_consent_was_asked_gets_its_answer(place):
    client, _user, team, hamlet = place
    old = HouseholdFactory(hamlet=hamlet, address_label="Số 3, ngõ Đình")
    assert old.consent == ""
    client.post(NEW, _visit(team, hamlet))  # known: nothing asked
    old.refresh_from_db()
    assert old.consent == ""
    client.post(NEW, _visit(team, hamlet, consent=Household.Consent.GIVEN))
    old.refresh_from_db()
    assert old.consent == Household.Consent.GIVEN
