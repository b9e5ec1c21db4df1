"""Records whose author is gone, as the demo data's are, or because the author's login was
deleted since: they are changed like any other. And a service's refusal about a field
the form does not show says which field it is about."""

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory, commune_official
from communes.models import Commune
from outreach.models import Member, Service, Team, Visit
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from trainings.models import Audience, Headcount, Level, Topic, TrainingSession
from trainings.services import headcount_set, session_create

# The refusal every demo visit met. The tests of the messages make a field that the form
# does not show required again (monkeypatch), for the service's own full_clean to refuse.
BLANK = "This field cannot be blank."


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=14269)


@pytest.fixture
def official(hai_dong):
    return commune_official(hai_dong)


@pytest.fixture
def team(hai_dong):
    return TeamFactory(commune=hai_dong)


@pytest.fixture
def hamlet(hai_dong):
    return HamletFactory(commune=hai_dong, name="Thôn Đông")


@pytest.fixture
def leader_member(team):
    return MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")


@pytest.fixture
def leader(leader_member, official):
    user, _password = member_login_create(by=official, member=leader_member)
    return user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Visits ----------------------------------------------------------------------------


def _visit(leader, team, hamlet) -> Visit:
    visit, _created = visit_record(
        by=leader,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label="Số 12, ngõ 3",
        data=VisitData(
            visited_on=timezone.localdate() - dt.timedelta(days=1),
            members=list(team.members.all()),
        ),
    )
    return visit


def _visit_form(visit: Visit, **overrides) -> dict:
    values = {
        "visited_on": visit.visited_on.isoformat(),
        "hamlet": str(visit.household.hamlet_id),
        "address_label": visit.household.address_label,
        "members": [str(m.pk) for m in visit.members.all()],
        "residents_helped": "3",
        "services": [str(Service.objects.get(code="portal_account").pk)],
        "outcome": Visit.Outcome.HELPED,
        "notes": "Cài VNeID cho hai người",
    }
    values.update(overrides)
    return values


def _as_demo(visit: Visit) -> None:
    """As seed_demo stores its visits: nobody entered them."""
    Visit.objects.filter(pk=visit.pk).update(created_by=None, is_demo=True)


@pytest.mark.django_db
def test_a_leader_changes_a_demo_visit_that_has_no_author(leader, team, hamlet):
    visit = _visit(leader, team, hamlet)
    _as_demo(visit)

    response = _client(leader).post(
        reverse("outreach:visit_edit", args=[visit.pk]), _visit_form(visit)
    )

    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.residents_helped, visit.notes) == (3, "Cài VNeID cho hai người")
    assert visit.created_by is None


@pytest.mark.django_db
def test_a_leader_changes_a_visit_entered_with_a_login_deleted_since(
    leader, leader_member, official, team, hamlet
):
    visit = _visit(leader, team, hamlet)
    # The leader lost their phone: the old login is deleted and a new one made.
    leader.delete()
    leader_member.refresh_from_db()
    new_login, _password = member_login_create(by=official, member=leader_member)

    response = _client(new_login).post(
        reverse("outreach:visit_edit", args=[visit.pk]), _visit_form(visit)
    )

    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.residents_helped == 3
    assert visit.created_by is None


@pytest.mark.django_db
def test_an_administrator_changes_an_old_visit_that_has_no_author(leader, team, hamlet):
    visit = _visit(leader, team, hamlet)
    _as_demo(visit)
    Visit.objects.filter(pk=visit.pk).update(created_at=timezone.now() - dt.timedelta(days=90))

    response = _client(UserFactory(is_superuser=True)).post(
        reverse("outreach:visit_edit", args=[visit.pk]), _visit_form(visit)
    )

    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.residents_helped == 3


@pytest.mark.django_db
def test_a_refusal_about_a_field_the_visit_form_does_not_show_names_that_field(
    monkeypatch, leader, team, hamlet
):
    """As every demo visit was refused before its author became optional."""
    visit = _visit(leader, team, hamlet)
    _as_demo(visit)
    monkeypatch.setattr(Visit._meta.get_field("created_by"), "blank", False)

    response = _client(leader).post(
        reverse("outreach:visit_edit", args=[visit.pk]), _visit_form(visit)
    )

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == [f"Entered by: {BLANK}"]
    visit.refresh_from_db()
    assert visit.residents_helped == 0


@pytest.mark.django_db
def test_the_field_named_in_a_refusal_is_in_the_pages_language(
    settings, monkeypatch, leader, team, hamlet
):
    settings.LANGUAGE_CODE = "vi"
    visit = _visit(leader, team, hamlet)
    _as_demo(visit)
    monkeypatch.setattr(Visit._meta.get_field("created_by"), "blank", False)

    response = _client(leader).post(
        reverse("outreach:visit_edit", args=[visit.pk]), _visit_form(visit)
    )

    assert "Người nhập: Trường này không được để trắng." in response.content.decode()


# --- Training sessions -----------------------------------------------------------------


def _session(by, commune) -> TrainingSession:
    return session_create(
        by=by,
        level=Level.COMMUNE,
        commune=commune,
        title="Tập huấn kỹ năng số cho người dân",
        format=TrainingSession.Format.COMMUNITY_TRAINING,
        audience=Audience.RESIDENTS,
        starts_on=dt.date(2026, 6, 10),
        ends_on=dt.date(2026, 6, 10),
        topics=[Topic.objects.get(code="scam_recognition")],
        status=TrainingSession.Status.HELD,
    )


def _session_form(session: TrainingSession, **overrides) -> dict:
    values = {
        "title": "Tập huấn lại",
        "format": session.format,
        "audience": session.audience,
        "topics": [t.pk for t in session.topics.all()],
        "organiser": session.organiser,
        "organiser_name": "",
        "starts_on": session.starts_on.isoformat(),
        "ends_on": session.ends_on.isoformat(),
        "capacity": "",
        "status": session.status,
    }
    values.update(overrides)
    return values


@pytest.mark.django_db
def test_a_commune_official_changes_a_demo_session_that_has_no_author(official, hai_dong):
    session = _session(official, hai_dong)
    TrainingSession.objects.filter(pk=session.pk).update(created_by=None, is_demo=True)

    response = _client(official).post(
        reverse("trainings:session_edit", args=[session.pk]), _session_form(session)
    )

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.title == "Tập huấn lại"


@pytest.mark.django_db
def test_an_official_changes_a_session_whose_authors_login_was_deleted(official, hai_dong):
    predecessor = commune_official(hai_dong)
    session = _session(predecessor, hai_dong)
    predecessor.delete()

    response = _client(official).post(
        reverse("trainings:session_edit", args=[session.pk]), _session_form(session)
    )

    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.title, session.created_by) == ("Tập huấn lại", None)


@pytest.mark.django_db
def test_a_headcount_whose_recorders_login_was_deleted_is_corrected(official, hai_dong):
    predecessor = commune_official(hai_dong)
    session = _session(predecessor, hai_dong)
    headcount_set(by=predecessor, session=session, total=40, women=10)
    predecessor.delete()

    response = _client(official).post(
        reverse("trainings:headcount_set", args=[session.pk]),
        {"headcount-total": "45", "headcount-women": "12"},
    )

    assert response.status_code == 302
    headcount = Headcount.objects.get(session=session)
    assert (headcount.total, headcount.women, headcount.recorded_by) == (45, 12, official)


@pytest.mark.django_db
def test_a_refusal_about_a_field_the_session_form_does_not_show_names_that_field(
    monkeypatch, official, hai_dong
):
    session = _session(official, hai_dong)
    TrainingSession.objects.filter(pk=session.pk).update(created_by=None)
    monkeypatch.setattr(TrainingSession._meta.get_field("created_by"), "blank", False)

    response = _client(official).post(
        reverse("trainings:session_edit", args=[session.pk]), _session_form(session)
    )

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == [f"Entered by: {BLANK}"]
    session.refresh_from_db()
    assert session.title == "Tập huấn kỹ năng số cho người dân"


# --- Teams and members -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_refusal_shown_beside_another_field_still_names_its_own(monkeypatch, official, team):
    """The day someone left is the deactivation form's only field: a refusal about any
    other field of the member is shown there, and must not read as being about that day."""
    member = MemberFactory(team=team)
    monkeypatch.setattr(Member._meta.get_field("zalo_joined_on"), "blank", False)

    response = _client(official).post(
        reverse("outreach:member_deactivate", args=[member.pk]),
        {"left_on": timezone.localdate().isoformat()},
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors["left_on"]) == [f"Joined the Zalo OA on: {BLANK}"]
    member.refresh_from_db()
    assert member.is_active


@pytest.mark.django_db
def test_a_refusal_about_a_field_the_team_form_does_not_show_names_that_field(
    monkeypatch, official, team
):
    monkeypatch.setattr(Team._meta.get_field("dissolved_on"), "blank", False)

    response = _client(official).post(
        reverse("outreach:team_edit", args=[team.pk]),
        {"name": "Tổ mới", "hamlet": "", "formed_on": team.formed_on.isoformat()},
    )

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == [f"Dissolved on: {BLANK}"]
