"""Personal data: erased on request by a data officer, anonymised when no longer needed,
with every figure kept."""

import datetime as dt
import json
import uuid

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, User
from accounts.roles import DATA_OFFICERS
from accounts.tests.factories import commune_official, province_staff
from communes.models import Commune, Province
from outreach.models import Household, Member, Visit
from outreach.services import (
    households_retention,
    member_deactivate,
    member_login_create,
    member_update,
    visit_record,
    visit_update,
)
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from trainings.models import Attendance, Audience, Topic, TrainingSession
from trainings.services import attendance_add, session_create

DAY = dt.date(2026, 6, 10)
ADDRESS, HEAD, PHONE = "Số 7, ngõ Chùa", "Vũ Thị Mận", "0987001122"


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=14269)


@pytest.fixture
def official(hai_dong):
    return commune_official(hai_dong)


@pytest.fixture
def officer(divisions):
    user = province_staff(Province.objects.get(), username="canbo.dulieu")
    user.groups.add(Group.objects.get(name=DATA_OFFICERS))
    return User.objects.get(pk=user.pk)  # permissions are cached per instance


@pytest.fixture
def world(hai_dong, official):
    team = TeamFactory(commune=hai_dong)
    hamlet = HamletFactory(commune=hai_dong)
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=official, member=leader)
    visit, _created = visit_record(
        by=user,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label=ADDRESS,
        head_name=HEAD,
        household_phone=PHONE,
        data=VisitData(visited_on=DAY, members=[leader], notes=f"Gặp bà {HEAD}"),
    )
    visit_update(
        by=user,
        visit=visit,
        hamlet=hamlet,
        address_label=ADDRESS,
        data=VisitData(visited_on=DAY, members=[leader], notes=f"Bà {HEAD} đã cài VNeID"),
    )
    return team, hamlet, leader, user, visit


def _text_of_trails() -> str:
    """Everything the audit trail (the visits' entries included) holds, as one text."""
    entries = AuditEntry.objects.values_list("object_repr", "subject", "changes")
    return json.dumps(list(entries), ensure_ascii=False, default=str)


@pytest.mark.django_db
def test_a_data_officer_erases_a_household_and_the_visits_still_count(officer, world):
    _team, _hamlet, _leader, _user, visit = world
    household = visit.household
    assert HEAD in _text_of_trails() and ADDRESS in _text_of_trails()
    counts = (Visit.objects.count(), Household.objects.count())
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(officer)

    confirm = client.get(reverse("outreach:household_erase", args=[household.pk]))
    assert confirm.status_code == 200 and "không thể khôi phục" in confirm.content.decode()
    response = client.post(reverse("outreach:household_erase", args=[household.pk]))

    assert response.status_code == 302
    household.refresh_from_db()
    assert (household.address_label, household.head_name, household.phone) == (
        f"#{household.pk}",
        "",
        "",
    )
    assert household.personal_data_erased_at is not None
    visit.refresh_from_db()
    assert visit.notes == "" and visit.household_id == household.pk
    assert (Visit.objects.count(), Household.objects.count()) == counts
    trails = _text_of_trails()
    assert HEAD not in trails and ADDRESS not in trails and PHONE not in trails
    erased = AuditEntry.objects.get(action=AuditEntry.Action.ERASED)
    assert (erased.actor, erased.object_id) == (officer, household.pk)


@pytest.mark.django_db
def test_only_a_data_officer_may_erase(official, world):
    _team, _hamlet, leader, _user, visit = world
    client = Client()
    client.force_login(official)
    assert (
        client.get(reverse("outreach:household_erase", args=[visit.household_id])).status_code
        == 403
    )
    assert client.post(reverse("outreach:member_erase", args=[leader.pk])).status_code == 403
    visit.household.refresh_from_db()
    assert visit.household.head_name == HEAD


@pytest.mark.django_db
def test_a_former_member_is_erased_with_their_login_and_attendance(
    officer, official, world, hai_dong
):
    team, _hamlet, leader, leader_login, _visit = world
    member = MemberFactory(team=team, full_name="Hoàng Văn Thụ", phone="0977000111")
    member_update(by=official, member=member, birth_year=2001)
    session = session_create(
        by=official,
        title="Tập huấn",
        format=TrainingSession.Format.COMMUNITY_TRAINING,
        audience=Audience.RESIDENTS,
        level="commune",
        commune=hai_dong,
        starts_on=DAY,
        ends_on=DAY,
        topics=list(Topic.objects.filter(code="scam_recognition")),
        status=TrainingSession.Status.HELD,
    )
    attendance_add(by=official, session=session, member=member)
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(officer)

    refused = client.post(reverse("outreach:member_erase", args=[member.pk]))
    assert refused.status_code == 400 and "rời tổ" in refused.content.decode()
    member_deactivate(by=official, member=member, left_on=DAY)
    assert client.post(reverse("outreach:member_erase", args=[member.pk])).status_code == 302

    member.refresh_from_db()
    assert (member.full_name, member.phone, member.birth_year) == (f"#{member.pk}", "", None)
    assert member.team_id == team.pk and member.joined_on is not None
    attendance = Attendance.objects.get(member=member)
    assert (attendance.full_name, attendance.phone) == (f"#{member.pk}", "")
    assert "0977000111" not in attendance.person_key
    trails = _text_of_trails()
    assert "Hoàng Văn Thụ" not in trails and "0977000111" not in trails

    # A leader's login goes with their name.
    member_deactivate(by=official, member=leader, left_on=DAY)
    client.post(reverse("outreach:member_erase", args=[leader.pk]))
    leader_login.refresh_from_db()
    assert not leader_login.is_active and not leader_login.has_usable_password()
    assert "0912345678" not in leader_login.username


@pytest.mark.django_db
def test_households_not_visited_for_the_retention_years_are_anonymised(world, hai_dong, settings):
    settings.HOUSEHOLD_RETENTION_YEARS = 5
    _team, hamlet, _leader, _user, visit = world
    old = Household.objects.create(
        commune=hai_dong, hamlet=hamlet, address_label="Số 99", head_name="Đinh Văn Cũ"
    )
    long_ago = timezone.now() - dt.timedelta(days=6 * 366)
    Household.objects.filter(pk=old.pk).update(created_at=long_ago)
    Visit.objects.filter(pk=visit.pk).update(created_at=long_ago + dt.timedelta(days=400))

    assert households_retention() == 1  # the visited one was seen within five years
    old.refresh_from_db()
    visit.household.refresh_from_db()
    assert old.head_name == "" and old.address_label == f"#{old.pk}"
    assert visit.household.head_name == HEAD

    Visit.objects.filter(pk=visit.pk).update(created_at=long_ago)
    assert households_retention() == 1
    assert households_retention() == 0  # and nothing twice
    assert not Household.objects.filter(head_name=HEAD).exists()


@pytest.mark.django_db
def test_a_household_needs_no_id_number_and_no_phone():
    # Law 91/2025: only what is needed. Nothing about a household asks for an ID number.
    fields = {f.name for f in Household._meta.get_fields()}
    assert not fields & {"id_number", "cccd", "national_id", "identity_number"}
    assert Household._meta.get_field("phone").blank
    assert Member._meta.get_field("phone").blank
