"""Courses, agencies and people named in trainings: tone marks decide, case does not."""

import datetime as dt
import importlib

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.tests.factories import UserFactory, commune_official
from communes.models import Commune
from core.tests.migration_apps import apps
from dashboard.models import PendingRollup
from trainings.models import Attendance, Audience, CourseEnrolment, Level, TrainingSession
from trainings.selectors import training_figures
from trainings.services import (
    attendance_add,
    course_enrolment_save,
    place_from_agency,
    session_create,
)

DAY = dt.date(2026, 6, 10)
COURSE = "Chuyển đổi số trong cơ quan nhà nước"


@pytest.fixture
def admin_user(db):
    return UserFactory(is_superuser=True)


def _held_session(official, commune) -> TrainingSession:
    return session_create(
        by=official,
        title="Tập huấn",
        format=TrainingSession.Format.COACHING,
        audience=Audience.COMMUNE_OFFICIALS,
        level=Level.COMMUNE,
        commune=commune,
        starts_on=DAY,
        ends_on=DAY,
        status=TrainingSession.Status.HELD,
    )


@pytest.mark.django_db
def test_a_course_named_in_capitals_is_the_same_course_and_counts_once(admin_user, divisions):
    course_enrolment_save(
        by=admin_user, course=COURSE, full_name="Lê Văn C", phone="0912345678", completed_on=DAY
    )
    _record, created, _changed = course_enrolment_save(
        by=admin_user,
        course="CHUYỂN ĐỔI SỐ TRONG CƠ QUAN NHÀ NƯỚC",
        full_name="Lê Văn C",
        phone="0912345678",
        completed_on=DAY,
    )

    assert not created
    assert list(CourseEnrolment.objects.values_list("course", flat=True)) == [COURSE]
    assert training_figures(2026).course_completions == 1


@pytest.mark.django_db
def test_a_course_named_without_diacritics_is_the_one_course_that_folds_to_it(
    admin_user, divisions
):
    course_enrolment_save(by=admin_user, course=COURSE, full_name="A", phone="0912345678")
    record, created, _changed = course_enrolment_save(
        by=admin_user,
        course="chuyen doi so trong co quan nha nuoc",
        full_name="A",
        phone="0912345678",
    )
    assert (record.course, created) == (COURSE, False)


@pytest.mark.django_db
def test_a_course_name_two_courses_fold_to_is_refused_with_both(admin_user, divisions):
    course_enrolment_save(by=admin_user, course="Kỹ năng số cơ bản", full_name="A", phone="")
    course_enrolment_save(by=admin_user, course="Kỹ năng sổ cơ bản", full_name="B", phone="")

    with pytest.raises(ValidationError) as caught:
        course_enrolment_save(by=admin_user, course="Ky nang so co ban", full_name="C")
    assert "Kỹ năng số cơ bản" in str(caught.value) and "Kỹ năng sổ cơ bản" in str(caught.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("agency", "code"),
    [
        ("UBND xã Trực Hùng", 14083),
        ("UBND xã Trực Hưng", 14050),
        ("UBND XÃ TRỰC HÙNG", 14083),
        ("UBND xa Hai Dong", 14269),  # no marks, one commune folds to it
    ],
)
def test_an_agency_names_its_commune_as_written(divisions, agency, code):
    commune, district = place_from_agency(agency)
    assert (commune.code, district) == (code, None)


@pytest.mark.django_db
def test_an_unmarked_agency_two_communes_fold_to_counts_at_their_district(divisions):
    commune, district = place_from_agency("UBND xa Truc Hung, huyen Truc Ninh")
    assert (commune, district.name) == (None, "Huyện Trực Ninh")


@pytest.mark.django_db
def test_two_people_whose_names_differ_in_tone_marks_are_two_attendees(divisions):
    hai_dong = Commune.objects.get(code=14269)
    official = commune_official(hai_dong)
    session = _held_session(official, hai_dong)
    attendance_add(by=official, session=session, full_name="Nguyễn Văn Hùng", agency="UBND xã")
    attendance_add(by=official, session=session, full_name="Nguyễn Văn Hưng", agency="UBND xã")

    assert session.attendances.count() == 2
    with translation.override("en"), pytest.raises(ValidationError, match="already on the session"):
        attendance_add(by=official, session=session, full_name="NGUYỄN VĂN HÙNG", agency="UBND Xã")


@pytest.mark.django_db
def test_the_upgrade_rekeys_people_known_by_name_and_marks_their_figures(divisions):
    hai_dong = Commune.objects.get(code=14269)
    official = commune_official(hai_dong)
    session = _held_session(official, hai_dong)
    attendance = attendance_add(by=official, session=session, full_name="Nguyễn Văn Hùng")
    # As the portal keyed names before this change: folded.
    Attendance.objects.filter(pk=attendance.pk).update(person_key="n:nguyen van hung|")
    PendingRollup.objects.all().delete()
    migration = importlib.import_module("trainings.migrations.0006_person_keys_keep_tone_marks")

    migration.rekey(apps, None)

    attendance.refresh_from_db()
    assert attendance.person_key == "n:nguyễn văn hùng|"
    assert PendingRollup.objects.filter(commune=hai_dong, day=DAY, source="trainings").exists()


@pytest.mark.django_db
def test_the_upgrade_merges_a_course_spelled_in_two_cases_and_counts_once(admin_user, divisions):
    # Most records spell it properly; that spelling stays.
    for phone in ("0912000111", "0912000222"):
        course_enrolment_save(by=admin_user, course=COURSE, full_name="B", phone=phone)
    course_enrolment_save(
        by=admin_user, course=COURSE, full_name="A", phone="0912345678", completed_on=DAY
    )
    # As the portal stored it before this change: a second record under another case.
    CourseEnrolment.objects.create(
        course=COURSE.upper(),
        full_name="A",
        phone="0912345678",
        person_key="p:0912345678",
        completed_on=DAY,
    )
    CourseEnrolment.objects.create(
        course=COURSE.upper(), full_name="D", phone="0912999888", person_key="p:0912999888"
    )
    assert training_figures(2026).course_completions == 2
    migration = importlib.import_module("trainings.migrations.0007_one_spelling_per_course")

    migration.merge_course_spellings(apps, None)

    records = CourseEnrolment.objects.filter(full_name__in=["A", "D"]).order_by("full_name")
    assert [(r.full_name, r.course) for r in records] == [("A", COURSE), ("D", COURSE)]
    assert PendingRollup.objects.filter(commune=None, district=None, day=DAY).exists()
