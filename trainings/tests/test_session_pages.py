"""The training-session pages: who may read and keep which sessions, attendance, the
calendar, the printable sheet, the priority communes and the exports."""

import datetime as dt
import io

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, Province
from outreach.models import Member
from outreach.services import member_login_create
from outreach.tests.factories import MemberFactory, TeamFactory
from trainings.models import Attendance, Audience, Headcount, Level, Topic, TrainingSession
from trainings.services import attendance_add, headcount_set, session_create

DAY = dt.date(2026, 6, 10)
PLANNED, HELD, CANCELLED = (
    TrainingSession.Status.PLANNED,
    TrainingSession.Status.HELD,
    TrainingSession.Status.CANCELLED,
)


@pytest.fixture(autouse=True)
def _english(settings):
    # Messages are checked in their English source text.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def hai_dong(divisions):
    """Xã Hải Đông, in Huyện Hải Hậu."""
    return Commune.objects.get(code=14269)


@pytest.fixture
def neighbour(hai_dong):
    """Another commune of the same district."""
    return Commune.objects.filter(district=hai_dong.district).exclude(pk=hai_dong.pk).first()


@pytest.fixture
def tran_te_xuong(divisions):
    """A ward of another district (Thành phố Nam Định)."""
    return Commune.objects.get(code=13636)


@pytest.fixture
def official(hai_dong):
    return commune_official(hai_dong)


@pytest.fixture
def far_official(tran_te_xuong):
    return commune_official(tran_te_xuong)


@pytest.fixture
def district_user(hai_dong):
    return district_staff(hai_dong.district)


@pytest.fixture
def provincial(divisions):
    return province_staff(Province.objects.get())


@pytest.fixture
def team(hai_dong):
    return TeamFactory(commune=hai_dong, name="Tổ công nghệ số thôn Đông")


@pytest.fixture
def leader(team, official):
    member = MemberFactory(team=team, role=Member.Role.LEADER, phone="0987654321")
    user, _password = member_login_create(by=official, member=member)
    return user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _topic(code: str) -> Topic:
    return Topic.objects.get(code=code)


def _session(by, *, level=Level.COMMUNE, commune=None, district=None, **overrides):
    values = {
        "title": "Tập huấn kỹ năng số cho người dân",
        "format": TrainingSession.Format.COMMUNITY_TRAINING,
        "audience": Audience.RESIDENTS,
        "starts_on": DAY,
        "ends_on": DAY,
        "topics": [_topic("scam_recognition")],
        "status": HELD,
    }
    values.update(overrides)
    return session_create(by=by, level=level, commune=commune, district=district, **values)


def _form_data(**overrides) -> dict:
    data = {
        "title": "Hội nghị chuyển đổi số xã Hải Đông",
        "format": TrainingSession.Format.COACHING,
        "audience": Audience.COMMUNE_OFFICIALS,
        "topics": [_topic("public_service_portal").pk, _topic("mobile_banking").pk],
        "organiser": TrainingSession.Organiser.TELECOM,
        "organiser_name": "VNPT Nam Định",
        "starts_on": "2026-06-15",
        "ends_on": "",
        "capacity": "40",
        "status": PLANNED,
    }
    data.update(overrides)
    return data


def _errors(response, field: str, form: str = "form") -> list[str]:
    return list(response.context[form].errors.get(field, []))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Creating and editing sessions ---------------------------------------------------


@pytest.mark.django_db
def test_commune_official_creates_a_session_of_their_commune_whatever_the_form_says(
    official, hai_dong, tran_te_xuong
):
    data = _form_data(level=Level.DISTRICT, district=tran_te_xuong.district_id)
    data["commune"] = tran_te_xuong.pk

    response = _client(official).post(reverse("trainings:session_create"), data)

    session = TrainingSession.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("trainings:session_detail", args=[session.pk])
    assert (session.level, session.commune, session.district) == (Level.COMMUNE, hai_dong, None)
    assert session.ends_on == session.starts_on == dt.date(2026, 6, 15)
    assert {t.code for t in session.topics.all()} == {"public_service_portal", "mobile_banking"}
    assert (session.organiser_name, session.capacity, session.created_by) == (
        "VNPT Nam Định",
        40,
        official,
    )


@pytest.mark.django_db
def test_the_session_form_shows_topics_grouped_by_kind_and_the_place_from_the_scope(
    official, hai_dong
):
    response = _client(official).get(reverse("trainings:session_create"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Xã Hải Đông" in body
    assert 'name="level"' not in body and 'name="commune"' not in body
    groups = [str(label) for label, _options in response.context["form"].topic_groups()]
    assert groups == ["Curriculum", "Thematic conference", "Sector"]


@pytest.mark.django_db
def test_an_end_date_before_the_start_is_refused_beside_it_with_the_input_kept(official):
    data = _form_data(starts_on="2026-06-15", ends_on="2026-06-14")

    response = _client(official).post(reverse("trainings:session_create"), data)

    assert response.status_code == 200
    assert _errors(response, "ends_on") == ["The end date cannot be before the start date."]
    assert response.context["form"]["title"].value() == "Hội nghị chuyển đổi số xã Hải Đông"
    assert not TrainingSession.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["starts_on", "ends_on"])
def test_a_day_outside_the_campaigns_years_is_refused_beside_it(official, field):
    far = (timezone.localdate() + dt.timedelta(days=400)).isoformat()
    data = _form_data(**{"starts_on": "2026-06-15", field: far})

    response = _client(official).post(reverse("trainings:session_create"), data)

    assert response.status_code == 200
    latest = (timezone.localdate() + dt.timedelta(days=366)).strftime("%d/%m/%Y")
    assert _errors(response, field) == [f"Choose a day between 01/01/2020 and {latest}."]
    assert response.context["form"][field].value() == far
    assert not TrainingSession.objects.exists()


@pytest.mark.django_db
def test_a_session_of_more_than_three_months_is_refused(official):
    data = _form_data(starts_on="2026-06-15", ends_on="2026-09-15")

    response = _client(official).post(reverse("trainings:session_create"), data)

    assert _errors(response, "ends_on") == [
        "A session lasts at most 92 days; record a longer course as several."
    ]
    assert not TrainingSession.objects.exists()


@pytest.mark.django_db
def test_a_session_recorded_before_the_bounds_keeps_its_days_when_edited(official, hai_dong):
    session = _session(
        official,
        commune=hai_dong,
        starts_on=dt.date(2019, 11, 4),
        ends_on=dt.date(2019, 11, 4),
    )

    response = _client(official).post(
        reverse("trainings:session_edit", args=[session.pk]),
        _form_data(title="Tập huấn lại", starts_on="2019-11-04", ends_on="2019-11-04"),
    )

    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.title, session.starts_on) == ("Tập huấn lại", dt.date(2019, 11, 4))


@pytest.mark.django_db
def test_a_session_needs_a_topic(official):
    response = _client(official).post(reverse("trainings:session_create"), _form_data(topics=[]))

    assert _errors(response, "topics") == ["Choose at least one topic."]
    assert not TrainingSession.objects.exists()


@pytest.mark.django_db
def test_commune_official_edits_their_session_and_marks_it_held(official, hai_dong):
    session = _session(official, commune=hai_dong, status=PLANNED)
    url = reverse("trainings:session_edit", args=[session.pk])
    client = _client(official)

    assert client.get(url).context["form"]["title"].value() == session.title
    response = client.post(
        url, _form_data(title="Tập huấn lại", status=HELD, topics=[_topic("ecommerce").pk])
    )

    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.title, session.status, session.commune) == ("Tập huấn lại", HELD, hai_dong)
    assert [t.code for t in session.topics.all()] == ["ecommerce"]


@pytest.mark.django_db
def test_a_session_with_attendees_cannot_be_set_back_to_planned(official, hai_dong):
    session = _session(official, commune=hai_dong)
    attendance_add(by=official, session=session, full_name="Trần Văn Bình")

    response = _client(official).post(
        reverse("trainings:session_edit", args=[session.pk]), _form_data(status=PLANNED)
    )

    assert response.status_code == 200
    assert "Remove them first" in _errors(response, "status")[0]
    session.refresh_from_db()
    assert session.status == HELD


@pytest.mark.django_db
def test_another_communes_session_is_not_found(official, far_official, tran_te_xuong):
    session = _session(far_official, commune=tran_te_xuong)
    client = _client(official)

    for name in ("session_detail", "session_edit", "session_sheet"):
        assert client.get(reverse(f"trainings:{name}", args=[session.pk])).status_code == 404
    for name in ("attendance_add", "headcount_set"):
        url = reverse(f"trainings:{name}", args=[session.pk])
        assert client.post(url, {"attendance-full_name": "X"}).status_code == 404
    export = reverse("trainings:attendance_export", kwargs={"pk": session.pk, "fmt": "csv"})
    assert client.get(export).status_code == 404
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_district_staff_create_a_district_session_and_cannot_edit_a_communes(
    district_user, official, hai_dong
):
    commune_session = _session(official, commune=hai_dong)
    client = _client(district_user)

    response = client.post(reverse("trainings:session_create"), _form_data(commune=hai_dong.pk))
    created = TrainingSession.objects.exclude(pk=commune_session.pk).get()
    assert response.status_code == 302
    assert (created.level, created.district, created.commune) == (
        Level.DISTRICT,
        hai_dong.district,
        None,
    )

    # They see their communes' sessions, but keep only their own level's.
    url = reverse("trainings:session_detail", args=[commune_session.pk])
    assert client.get(url).status_code == 200
    edit = reverse("trainings:session_edit", args=[commune_session.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, _form_data(title="Đổi tên")).status_code == 403
    add = reverse("trainings:attendance_add", args=[commune_session.pk])
    assert client.post(add, {"attendance-full_name": "Lê Thị Hoa"}).status_code == 403
    commune_session.refresh_from_db()
    assert commune_session.title == "Tập huấn kỹ năng số cho người dân"
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_provincial_staff_create_provincial_sessions(provincial):
    response = _client(provincial).post(reverse("trainings:session_create"), _form_data())

    assert response.status_code == 302
    session = TrainingSession.objects.get()
    assert (session.level, session.district, session.commune) == (Level.PROVINCE, None, None)


@pytest.mark.django_db
def test_an_administrator_chooses_the_level_and_place(hai_dong):
    admin = UserFactory(is_superuser=True)
    client = _client(admin)

    missing = client.post(reverse("trainings:session_create"), _form_data(level=Level.COMMUNE))
    assert _errors(missing, "commune") == ["Choose the commune of a commune session."]

    data = _form_data(level=Level.COMMUNE, commune=hai_dong.pk, district=hai_dong.district_id)
    assert client.post(reverse("trainings:session_create"), data).status_code == 302
    session = TrainingSession.objects.get()
    assert (session.level, session.commune, session.district) == (Level.COMMUNE, hai_dong, None)


@pytest.mark.django_db
def test_team_leaders_list_sessions_but_may_not_keep_them(leader, official, hai_dong):
    session = _session(official, commune=hai_dong)
    client = _client(leader)

    listing = client.get(reverse("trainings:session_list"))
    assert listing.status_code == 200
    assert session.title in listing.content.decode()
    assert client.get(reverse("trainings:session_detail", args=[session.pk])).status_code == 200
    assert client.get(reverse("trainings:session_create")).status_code == 403
    assert client.post(reverse("trainings:session_create"), _form_data()).status_code == 403
    assert client.get(reverse("trainings:session_edit", args=[session.pk])).status_code == 403
    export = reverse("trainings:attendance_export", kwargs={"pk": session.pk, "fmt": "csv"})
    assert client.get(export).status_code == 403
    assert not TrainingSession.objects.exclude(pk=session.pk).exists()


@pytest.mark.django_db
def test_the_pages_need_a_login(official, hai_dong):
    session = _session(official, commune=hai_dong)
    client = Client()
    for url in (
        reverse("trainings:session_list"),
        reverse("trainings:session_calendar"),
        reverse("trainings:session_detail", args=[session.pk]),
        reverse("trainings:priority_communes"),
        reverse("trainings:session_export", kwargs={"fmt": "csv"}),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


# --- Attendance and headcount --------------------------------------------------------


@pytest.mark.django_db
def test_commune_official_records_named_attendance_and_a_headcount(official, hai_dong, team):
    member = MemberFactory(team=team, full_name="Phạm Thị Mai", phone="0911222333")
    session = _session(official, commune=hai_dong)
    client = _client(official)
    detail = reverse("trainings:session_detail", args=[session.pk])
    add = reverse("trainings:attendance_add", args=[session.pk])

    page = client.get(detail)
    assert member in page.context["attendance_form"].fields["member"].queryset

    assert client.post(add, {"attendance-member": member.pk}).status_code == 302
    typed = {
        "attendance-full_name": "Nguyễn Văn An",
        "attendance-agency": "UBND xã Hải Đông",
        "attendance-position": "Công chức văn phòng",
        "attendance-phone": "+84 912 345 678",
    }
    assert client.post(add, typed).status_code == 302
    headcount = {
        "headcount-total": "45",
        "headcount-women": "20",
        "headcount-working_age": "30",
        "headcount-priority_groups": "5",
    }
    response = client.post(reverse("trainings:headcount_set", args=[session.pk]), headcount)
    assert response.status_code == 302

    listed = {a.full_name: a for a in Attendance.objects.filter(session=session)}
    assert set(listed) == {"Phạm Thị Mai", "Nguyễn Văn An"}
    assert listed["Phạm Thị Mai"].member == member
    assert listed["Nguyễn Văn An"].phone == "0912345678"
    recorded = Headcount.objects.get(session=session)
    assert (recorded.total, recorded.women, recorded.working_age, recorded.priority_groups) == (
        45,
        20,
        30,
        5,
    )
    page = client.get(detail)
    assert page.context["session"].attendee_count == 45
    # A member already on the list is no longer offered.
    assert member not in page.context["attendance_form"].fields["member"].queryset


@pytest.mark.django_db
def test_an_attendee_is_removed_from_the_list(official, hai_dong):
    session = _session(official, commune=hai_dong)
    attendance = attendance_add(by=official, session=session, full_name="Trần Văn Bình")
    url = reverse("trainings:attendance_remove", args=[session.pk, attendance.pk])

    assert _client(official).post(url).status_code == 302
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_attendance_on_a_planned_session_is_refused_with_a_message(official, hai_dong):
    session = _session(official, commune=hai_dong, status=PLANNED)
    client = _client(official)

    page = client.get(reverse("trainings:session_detail", args=[session.pk]))
    assert page.context["attendance_form"] is None
    assert "Attendance is recorded once the session has been held" in page.content.decode()

    response = client.post(
        reverse("trainings:attendance_add", args=[session.pk]),
        {"attendance-full_name": "Nguyễn Văn An"},
        follow=True,
    )
    assert _messages(response) == ["Attendance is recorded for sessions that were held."]
    response = client.post(
        reverse("trainings:headcount_set", args=[session.pk]),
        {"headcount-total": "10"},
        follow=True,
    )
    assert _messages(response) == ["Attendance is recorded for sessions that were held."]
    assert not Attendance.objects.exists()
    assert not Headcount.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_attendee_is_refused_with_the_input_kept(official, hai_dong):
    session = _session(official, commune=hai_dong)
    attendance_add(by=official, session=session, full_name="Nguyễn Văn An", phone="0912345678")
    typed = {
        "attendance-full_name": "Nguyen Van An",
        "attendance-agency": "Hội Nông dân xã",
        "attendance-phone": "0912 345 678",
    }

    response = _client(official).post(reverse("trainings:attendance_add", args=[session.pk]), typed)

    assert response.status_code == 200
    form = response.context["attendance_form"]
    assert form.non_field_errors() == ["This person is already on the session's list."]
    assert (form["full_name"].value(), form["agency"].value()) == (
        "Nguyen Van An",
        "Hội Nông dân xã",
    )
    assert Attendance.objects.count() == 1


@pytest.mark.django_db
def test_an_attendee_with_the_longest_name_and_agency_the_form_allows_is_listed(official, hai_dong):
    # Without a phone, the person is told apart by name and agency, which once did not
    # fit the column that keeps them.
    session = _session(official, commune=hai_dong)
    typed = {"attendance-full_name": "Nguyễn " * 21 + "An", "attendance-agency": "Đ" * 200}

    response = _client(official).post(reverse("trainings:attendance_add", args=[session.pk]), typed)

    assert response.status_code == 302
    assert Attendance.objects.get().agency == "Đ" * 200


@pytest.mark.django_db
def test_an_attendee_needs_a_name_and_a_valid_phone(official, hai_dong):
    session = _session(official, commune=hai_dong)
    url = reverse("trainings:attendance_add", args=[session.pk])

    response = _client(official).post(url, {"attendance-phone": "12345"})

    assert _errors(response, "full_name", "attendance_form") == [
        "Choose a team member or type the person's full name."
    ]
    assert _errors(response, "phone", "attendance_form") == [
        "Enter a Vietnamese mobile number, such as 0912 345 678."
    ]
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_a_member_of_another_commune_cannot_be_picked(official, hai_dong, tran_te_xuong):
    stranger = MemberFactory(team=TeamFactory(commune=tran_te_xuong))
    session = _session(official, commune=hai_dong)

    response = _client(official).post(
        reverse("trainings:attendance_add", args=[session.pk]), {"attendance-member": stranger.pk}
    )

    assert response.status_code == 200
    assert _errors(response, "member", "attendance_form")
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_a_headcount_below_the_named_list_is_refused_beside_the_total(official, hai_dong):
    session = _session(official, commune=hai_dong)
    attendance_add(by=official, session=session, full_name="Nguyễn Văn An")
    attendance_add(by=official, session=session, full_name="Trần Văn Bình")
    url = reverse("trainings:headcount_set", args=[session.pk])
    client = _client(official)

    response = client.post(url, {"headcount-total": "1", "headcount-women": "1"})

    assert response.status_code == 200
    assert _errors(response, "total", "headcount_form") == [
        "2 people are named on the list: the total cannot be lower."
    ]
    assert response.context["headcount_form"]["total"].value() == "1"
    assert not Headcount.objects.exists()

    parts = client.post(url, {"headcount-total": "10", "headcount-women": "11"})
    assert _errors(parts, "women", "headcount_form") == [
        "This cannot be more than the people present."
    ]
    assert not Headcount.objects.exists()


# --- The list and the calendar -------------------------------------------------------


@pytest.fixture
def spread(official, far_official, district_user, provincial, hai_dong, neighbour, tran_te_xuong):
    """Sessions at every level and in two districts, each different in one way."""
    neighbour_official = commune_official(neighbour)
    return {
        "ours": _session(official, commune=hai_dong, title="Ours"),
        "neighbour": _session(
            neighbour_official,
            commune=neighbour,
            title="Neighbour",
            format=TrainingSession.Format.COACHING,
            audience=Audience.COMMUNE_OFFICIALS,
            topics=[_topic("public_service_portal")],
        ),
        "far": _session(far_official, commune=tran_te_xuong, title="Far", status=PLANNED),
        "district": _session(
            district_user,
            level=Level.DISTRICT,
            district=hai_dong.district,
            title="District",
            starts_on=dt.date(2026, 3, 2),
            ends_on=dt.date(2026, 3, 3),
        ),
        "province": _session(
            provincial,
            level=Level.PROVINCE,
            title="Province",
            format=TrainingSession.Format.THEMATIC_CONFERENCE,
            audience=Audience.KEY_OFFICIALS,
            topics=[_topic("smart_cities")],
            status=CANCELLED,
            starts_on=dt.date(2026, 9, 1),
            ends_on=dt.date(2026, 9, 1),
        ),
    }


def _titles(client, params=None) -> list[str]:
    response = client.get(reverse("trainings:session_list"), params or {})
    assert response.status_code == 200
    return [session.title for session in response.context["page"].object_list]


@pytest.mark.django_db
def test_the_list_shows_the_sessions_in_scope_newest_first(spread, official, provincial):
    assert _titles(_client(official)) == ["Province", "Ours", "District"]
    assert _titles(_client(provincial)) == ["Province", "Far", "Neighbour", "Ours", "District"]


@pytest.mark.django_db
def test_the_list_filters_by_period_format_topic_audience_status_and_place(
    spread, provincial, district_user, official, hai_dong
):
    client = _client(provincial)
    assert _titles(client, {"start": "2026-03-03", "end": "2026-03-31"}) == ["District"]
    assert _titles(client, {"format": "coaching"}) == ["Neighbour"]
    assert _titles(client, {"topic": _topic("smart_cities").pk}) == ["Province"]
    assert _titles(client, {"audience": "commune_officials"}) == ["Neighbour"]
    assert _titles(client, {"status": "planned"}) == ["Far"]
    assert _titles(client, {"district": hai_dong.district_id}) == [
        "Neighbour",
        "Ours",
        "District",
    ]
    assert _titles(client, {"district": hai_dong.district_id, "commune": hai_dong.pk}) == ["Ours"]

    # The commune filter waits for a district; district staff choose among their communes;
    # a commune official filters neither.
    form = client.get(reverse("trainings:session_list")).context["form"]
    assert "district" in form.fields and "commune" not in form.fields
    form = _client(district_user).get(reverse("trainings:session_list")).context["form"]
    assert "district" not in form.fields
    assert set(form.fields["commune"].queryset) == set(hai_dong.district.communes.all())
    assert _titles(_client(district_user), {"commune": hai_dong.pk}) == ["Ours"]
    form = _client(official).get(reverse("trainings:session_list")).context["form"]
    assert "district" not in form.fields and "commune" not in form.fields


def _queries(client, url, params=None) -> int:
    client.get(url, params)  # fills the demo-ribbon cache and the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_list_makes_the_same_number_of_queries_for_3_or_30_sessions(
    official, provincial, hai_dong
):
    url = reverse("trainings:session_list")
    filtered = {"district": hai_dong.district_id, "commune": hai_dong.pk, "status": "held"}

    def counts():
        return [
            _queries(_client(official), url),
            _queries(_client(provincial), url, filtered),
            _queries(
                _client(provincial), reverse("trainings:session_calendar"), {"month": "2026-06"}
            ),
        ]

    for _ in range(3):
        attendance_add(by=official, session=_session(official, commune=hai_dong), full_name="A")
    few = counts()
    for _ in range(27):
        headcount_set(by=official, session=_session(official, commune=hai_dong), total=9)
    assert counts() == few


@pytest.mark.django_db
def test_the_calendar_shows_sessions_on_their_start_day(spread, official):
    response = _client(official).get(reverse("trainings:session_calendar"), {"month": "2026-06"})

    assert response.status_code == 200
    cells = [cell for week in response.context["weeks"] for cell in week]
    assert cells[0].day == dt.date(2026, 6, 1)  # a Monday begins the grid
    assert cells[0].day.weekday() == 0
    by_day = {cell.day: [s.title for s in cell.sessions] for cell in cells}
    assert by_day[DAY] == ["Ours"]
    assert sum(len(titles) for titles in by_day.values()) == 1
    body = response.content.decode()
    assert "?month=2026-05" in body and "?month=2026-07" in body

    march = _client(official).get(reverse("trainings:session_calendar"), {"month": "2026-03"})
    march_days = {
        cell.day: [s.title for s in cell.sessions] for w in march.context["weeks"] for cell in w
    }
    assert march_days[dt.date(2026, 3, 2)] == ["District"]


@pytest.mark.django_db
def test_a_malformed_month_shows_this_month(official):
    response = _client(official).get(reverse("trainings:session_calendar"), {"month": "June"})

    assert response.status_code == 200
    assert response.context["first"].day == 1


# --- The printable sheet -------------------------------------------------------------


@pytest.mark.django_db
def test_the_printable_sheet_has_a_row_for_each_seat_of_a_planned_session(official, hai_dong):
    session = _session(official, commune=hai_dong, status=PLANNED, capacity=35)
    client = _client(official)

    response = client.get(reverse("trainings:session_sheet", args=[session.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert session.title in body and "Xã Hải Đông" in body and "Signature" in body
    assert "css/print.css" in body
    assert len(response.context["rows"]) == 35
    assert body.count('<tr><td class="num">') == 35

    no_capacity = _session(official, commune=hai_dong, status=PLANNED, title="Khác")
    sheet = client.get(reverse("trainings:session_sheet", args=[no_capacity.pk]))
    assert len(sheet.context["rows"]) == 30


@pytest.mark.django_db
def test_a_held_session_sends_the_sheet_back_to_its_page(official, hai_dong):
    session = _session(official, commune=hai_dong)

    response = _client(official).get(reverse("trainings:session_sheet", args=[session.pk]))

    assert response.status_code == 302
    assert response.url == reverse("trainings:session_detail", args=[session.pk])


# --- Priority communes ---------------------------------------------------------------


@pytest.mark.django_db
def test_priority_communes_lists_only_the_communes_in_scope(
    official, provincial, district_user, hai_dong, neighbour
):
    far = Commune.objects.exclude(district=hai_dong.district).filter(kind="rural_commune").first()
    Commune.objects.filter(pk__in=[hai_dong.pk, far.pk]).update(new_rural_status="advanced")
    Commune.objects.filter(pk=neighbour.pk).update(new_rural_status="model")
    session = _session(official, commune=hai_dong)
    headcount_set(by=official, session=session, total=55)
    url = reverse("trainings:priority_communes")

    def rows(user):
        response = _client(user).get(url, {"year": "2026"})
        assert response.status_code == 200
        return {
            row.commune.pk: (row.held_resident_training, row.residents_attended)
            for row in response.context["rows"]
        }

    assert rows(official) == {hai_dong.pk: (True, 55)}
    assert rows(district_user) == {hai_dong.pk: (True, 55), neighbour.pk: (False, 0)}
    assert rows(provincial) == {
        hai_dong.pk: (True, 55),
        neighbour.pk: (False, 0),
        far.pk: (False, 0),
    }
    body = _client(district_user).get(url, {"year": "2026"}).content.decode()
    assert "None yet" in body
    assert _client(official).get(url, {"year": "2025"}).context["rows"][0].residents_attended == 0


# --- Exports -------------------------------------------------------------------------


@pytest.mark.django_db
def test_session_exports_hold_only_the_sessions_in_scope(
    official, far_official, hai_dong, tran_te_xuong
):
    _session(official, commune=hai_dong, title="=cmd|' /C calc'!A0")
    _session(far_official, commune=tran_te_xuong, title="Phường Trần Tế Xương")
    client = _client(official)

    csv_response = client.get(reverse("trainings:session_export", kwargs={"fmt": "csv"}))
    text = b"".join(csv_response.streaming_content).decode("utf-8")
    assert csv_response["Content-Type"].startswith("text/csv")
    assert text.startswith("\ufeff")
    assert "'=cmd|' /C calc'!A0" in text
    assert "Trần Tế Xương" not in text
    assert len(text.strip().splitlines()) == 2

    xlsx_response = client.get(reverse("trainings:session_export", kwargs={"fmt": "xlsx"}))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_response.content)).active
    titles = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert titles == ["'=cmd|' /C calc'!A0"]


@pytest.mark.django_db
def test_session_export_follows_the_list_filters(official, hai_dong):
    _session(official, commune=hai_dong, title="Held one")
    _session(official, commune=hai_dong, title="Planned one", status=PLANNED)

    response = _client(official).get(
        reverse("trainings:session_export", kwargs={"fmt": "csv"}), {"status": "planned"}
    )

    text = b"".join(response.streaming_content).decode("utf-8")
    assert "Planned one" in text and "Held one" not in text


@pytest.mark.django_db
def test_attendance_export_lists_the_sessions_named_people(official, hai_dong):
    session = _session(official, commune=hai_dong)
    attendance_add(by=official, session=session, full_name='=HYPERLINK("x")', agency="@SUM")
    attendance_add(by=official, session=session, full_name="Nguyễn Văn An", phone="0912345678")
    client = _client(official)

    url = reverse("trainings:attendance_export", kwargs={"pk": session.pk, "fmt": "csv"})
    text = b"".join(client.get(url).streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    assert "'=HYPERLINK" in text and "'@SUM" in text
    assert "Nguyễn Văn An" in text and "0912345678" in text

    url = reverse("trainings:attendance_export", kwargs={"pk": session.pk, "fmt": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(url).content)).active
    names = sorted(row[1] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert names == ['\'=HYPERLINK("x")', "Nguyễn Văn An"]
