"""Rules of trainings: dates, attendance only when held, headcounts, scope, buckets, figures."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.access import NotAllowed
from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, Province
from dashboard.models import PendingRollup
from outreach.tests.factories import MemberFactory, TeamFactory
from trainings.models import Attendance, Audience, Headcount, Level, Topic, TrainingSession
from trainings.selectors import communes_priority, sessions_visible, training_figures
from trainings.services import (
    attendance_add,
    attendance_remove,
    course_enrolment_save,
    headcount_set,
    place_from_agency,
    session_create,
    session_update,
)

DAY = dt.date(2026, 6, 10)


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=14269)


@pytest.fixture
def official(hai_dong):
    return commune_official(hai_dong)


@pytest.fixture
def admin_user(db):
    return UserFactory(is_superuser=True)


def _session(by, *, level=Level.COMMUNE, commune=None, district=None, **overrides):
    values = {
        "title": "Tập huấn kỹ năng số cho người dân",
        "format": TrainingSession.Format.COMMUNITY_TRAINING,
        "audience": Audience.RESIDENTS,
        "starts_on": DAY,
        "ends_on": DAY,
        "topics": list(Topic.objects.filter(code__in=["scam_recognition", "mobile_banking"])),
        "status": TrainingSession.Status.HELD,
    }
    values.update(overrides)
    return session_create(by=by, level=level, commune=commune, district=district, **values)


@pytest.mark.django_db
def test_the_end_date_cannot_be_before_the_start(official, hai_dong):
    with pytest.raises(ValidationError):
        _session(official, commune=hai_dong, ends_on=DAY - dt.timedelta(days=1))
    assert not TrainingSession.objects.exists()


@pytest.mark.django_db
def test_the_database_keeps_the_place_consistent_with_the_level(official, hai_dong):
    session = _session(official, commune=hai_dong)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingSession.objects.filter(pk=session.pk).update(level=Level.PROVINCE)


@pytest.mark.django_db
def test_each_level_keeps_its_own_sessions(official, hai_dong):
    other = Commune.objects.get(code=13636)
    with pytest.raises(NotAllowed):
        _session(official, commune=other)
    with pytest.raises(NotAllowed):  # a commune official does not keep district sessions
        _session(official, level=Level.DISTRICT, district=hai_dong.district)
    staff = district_staff(hai_dong.district)
    session = _session(staff, level=Level.DISTRICT, district=hai_dong.district, commune=hai_dong)
    assert (session.district_id, session.commune_id) == (hai_dong.district_id, None)
    provincial = province_staff(Province.objects.get())
    assert _session(provincial, level=Level.PROVINCE).level == Level.PROVINCE


@pytest.mark.django_db
def test_attendance_only_for_sessions_that_were_held(official, hai_dong):
    planned = _session(official, commune=hai_dong, status=TrainingSession.Status.PLANNED)
    with pytest.raises(ValidationError):
        attendance_add(by=official, session=planned, full_name="Nguyễn Văn A")
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_a_person_attends_a_session_once(official, hai_dong):
    session = _session(official, commune=hai_dong)
    attendance_add(by=official, session=session, full_name="Nguyễn Văn A", phone="0912345678")
    with pytest.raises(ValidationError):
        attendance_add(by=official, session=session, full_name="Nguyen Van A", phone="+84912345678")
    member = MemberFactory(team=TeamFactory(commune=hai_dong), phone="")
    attendance_add(by=official, session=session, member=member)
    with pytest.raises(ValidationError):
        attendance_add(by=official, session=session, member=member)
    assert session.attendances.count() == 2


@pytest.mark.django_db
def test_headcount_parts_stay_within_the_total_and_the_total_covers_the_names(official, hai_dong):
    session = _session(official, commune=hai_dong)
    with pytest.raises(ValidationError):
        headcount_set(by=official, session=session, total=40, women=41)
    attendance_add(by=official, session=session, full_name="A")
    attendance_add(by=official, session=session, full_name="B")
    with pytest.raises(ValidationError) as below:
        headcount_set(by=official, session=session, total=1)
    assert "total" in below.value.message_dict
    headcount_set(by=official, session=session, total=2)
    with pytest.raises(ValidationError):  # a third name would exceed the headcount
        attendance_add(by=official, session=session, full_name="C")
    assert Headcount.objects.get().total == 2


@pytest.mark.django_db
def test_a_session_with_attendees_cannot_be_cancelled_before_they_are_removed(official, hai_dong):
    session = _session(official, commune=hai_dong)
    attendance = attendance_add(by=official, session=session, full_name="A")
    with pytest.raises(ValidationError):
        session_update(by=official, session=session, status=TrainingSession.Status.CANCELLED)
    attendance_remove(by=official, attendance=attendance)
    session_update(by=official, session=session, status=TrainingSession.Status.CANCELLED)
    assert TrainingSession.objects.get().status == "cancelled"


@pytest.mark.django_db
def test_each_change_marks_the_bucket_of_the_sessions_place_and_day(official, hai_dong, admin_user):
    session = _session(official, commune=hai_dong)
    moved = DAY + dt.timedelta(days=2)
    session_update(by=official, session=session, starts_on=moved, ends_on=moved)
    district_session = _session(admin_user, level=Level.DISTRICT, district=hai_dong.district)
    _session(admin_user, level=Level.PROVINCE)

    rows = set(PendingRollup.objects.values_list("commune_id", "district_id", "day"))
    assert rows == {
        (hai_dong.pk, None, DAY),
        (hai_dong.pk, None, moved),
        (None, district_session.district_id, DAY),
        (None, None, DAY),
    }


@pytest.mark.django_db
def test_sessions_visible_follow_the_scope(hai_dong, official, admin_user):
    ours = _session(official, commune=hai_dong)
    theirs = _session(admin_user, commune=Commune.objects.get(code=13636))
    district = _session(admin_user, level=Level.DISTRICT, district=hai_dong.district)
    provincial = _session(admin_user, level=Level.PROVINCE)

    assert set(sessions_visible(official)) == {ours, district, provincial}
    assert set(sessions_visible(district_staff(hai_dong.district))) == {ours, district, provincial}
    assert set(sessions_visible(province_staff(Province.objects.get()))) == {
        ours,
        theirs,
        district,
        provincial,
    }
    assert not sessions_visible(UserFactory()).exists()


@pytest.mark.django_db
def test_yearly_figures_count_a_person_once_and_cancelled_sessions_not_at_all(
    hai_dong, official, admin_user
):
    coaching = {"format": TrainingSession.Format.COACHING, "audience": Audience.COMMUNE_OFFICIALS}
    sessions = [_session(official, commune=hai_dong, **coaching) for _ in range(3)]
    for session in sessions:  # the same official at three sessions
        attendance_add(by=official, session=session, full_name="Trần Thị B", phone="0987654321")
    residents = _session(official, commune=hai_dong)
    headcount_set(by=official, session=residents, total=120, women=70, working_age=90)
    cancelled = _session(official, commune=hai_dong, status=TrainingSession.Status.PLANNED)
    session_update(by=official, session=cancelled, status=TrainingSession.Status.CANCELLED)
    # The same person completes an online course; another civil servant does too.
    course_enrolment_save(
        by=admin_user,
        course="Chuyển đổi số cơ bản",
        full_name="Trần Thị B",
        phone="0987 654 321",
        agency="UBND xã Hải Đông",
        completed_on=DAY,
        score=Decimal("9.5"),
    )
    course_enrolment_save(
        by=admin_user,
        course="Chuyển đổi số cơ bản",
        full_name="Lê Văn C",
        email="c@namdinh.gov.vn",
        agency="Sở Tư pháp",
        completed_on=DAY,
    )

    figures = training_figures(2026)

    assert figures.sessions_held == 4
    assert figures.attendees == 3 + 120
    assert figures.attendees_by_audience == {"commune_officials": 3, "residents": 120}
    assert figures.course_completions == 2
    assert figures.distinct_people == 2  # B (three sessions and a course) and C
    assert figures.officials_trained == 2
    assert training_figures(2025).sessions_held == 0
    commune_figures = training_figures(2026, commune_id=hai_dong.pk)
    assert (commune_figures.course_completions, commune_figures.sessions_held) == (1, 4)


@pytest.mark.django_db
def test_re_importing_a_learner_updates_the_record_never_duplicates_it(admin_user, divisions):
    first, created, changed = course_enrolment_save(
        by=admin_user, course="MOOC 1", full_name="Lê Văn C", email="C@NamDinh.gov.vn"
    )
    again, created_again, changed_again = course_enrolment_save(
        by=admin_user, course="MOOC 1", full_name="Lê Văn C", email="c@namdinh.gov.vn"
    )
    later, _c, changed_later = course_enrolment_save(
        by=admin_user,
        course="MOOC 1",
        full_name="Lê Văn C",
        email="c@namdinh.gov.vn",
        completed_on=DAY,
    )
    assert (created, created_again, changed_again, changed_later) == (True, False, False, True)
    assert first.pk == again.pk == later.pk
    assert PendingRollup.objects.filter(commune=None, district=None, day=DAY).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("agency", "expected"),
    [
        ("UBND xã Hải Đông", ("Xã Hải Đông", None)),
        ("Phòng Văn hóa - Thông tin huyện Hải Hậu", (None, "Huyện Hải Hậu")),
        ("Sở Tư pháp tỉnh Nam Định", (None, None)),
        ("", (None, None)),
    ],
)
def test_a_learners_agency_tells_where_the_completion_counts(divisions, agency, expected):
    commune, district = place_from_agency(agency)
    assert (str(commune) if commune else None, str(district) if district else None) == expected


@pytest.mark.django_db
def test_priority_communes_show_whether_they_held_a_resident_training(official, hai_dong):
    Commune.objects.filter(pk=hai_dong.pk).update(new_rural_status="advanced", new_rural_year=2024)
    Commune.objects.filter(code=14215).update(new_rural_status="model", new_rural_year=2025)
    session = _session(official, commune=hai_dong)
    headcount_set(by=official, session=session, total=55)

    rows = {row.commune.code: row for row in communes_priority(2026)}

    assert set(rows) == {14269, 14215}
    assert (rows[14269].held_resident_training, rows[14269].residents_attended) == (True, 55)
    assert (rows[14215].held_resident_training, rows[14215].residents_attended) == (False, 0)
