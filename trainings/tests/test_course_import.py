"""Import of the online-course platform's list: preview, all-or-nothing apply, re-import,
who may import, and the learners' list within each user's scope."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ScopeLevel
from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, District, Province
from core.marks import buckets_changed
from dashboard.models import PendingRollup, TrainingDay
from trainings.models import CourseEnrolment, CourseImport
from trainings.services import course_enrolment_save

TITLE = "DANH SÁCH HỌC VIÊN HOÀN THÀNH KHÓA HỌC TRỰC TUYẾN NĂM 2026"
HEADER = [
    "STT",
    "Họ và tên",
    "Đơn vị công tác",
    "Email",
    "Số điện thoại",
    "Khóa học",
    "Ngày đăng ký",
    "Ngày hoàn thành",
    "Điểm",
]
COURSE = "Chuyển đổi số cơ bản cho cán bộ, công chức"


def _row(name="Nguyễn Văn An", agency="UBND xã Hải Đông", **kw):
    values = {
        "email": "",
        "phone": "0912345678",
        "course": COURSE,
        "enrolled": "02/03/2026",
        "completed": "20/03/2026",
        "score": 92,
    }
    values.update(kw)
    return [
        1,
        name,
        agency,
        values["email"],
        values["phone"],
        values["course"],
        values["enrolled"],
        values["completed"],
        values["score"],
    ]


def _clean_rows():
    return [
        _row(),  # counts for the commune its agency names
        _row(
            name="Trần Thị Bình",
            agency="Phòng Văn hóa và Thông tin huyện Hải Hậu",
            phone="",
            email="Binh.TT@HaiHau.gov.vn",
            completed=dt.date(2026, 4, 2),  # an Excel date cell
            score="8,5",
        ),
        _row(
            name="Lê Văn Cường",
            agency="Sở Tư pháp tỉnh Nam Định",
            phone="+84 913 000 111",
            enrolled=dt.date(2026, 3, 1),
            completed=dt.date(2026, 5, 9),
            score="",
        ),
        # Enrolled, not completed yet: no completion, and no score.
        _row(name="Phạm Thị Dung", phone="0168 123 4567", completed="", score=""),
    ]


def _xlsx(rows, *, title=True, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append([TITLE])
        sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv(rows, *, header=HEADER, encoding="utf-8-sig", delimiter=",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=14269)


@pytest.fixture
def hai_hau(divisions):
    return District.objects.get(code=366)


@pytest.fixture
def staff(divisions):
    return province_staff(Province.objects.get())


@pytest.fixture
def signed_in(client, staff):
    client.force_login(staff)
    return client


def _upload(client, callbacks, content, name="hoc-vien.xlsx"):
    """Upload a file as the signed-in user; the check runs (eagerly) once committed."""
    with callbacks(execute=True):
        response = client.post(
            reverse("trainings:course_import_new"),
            {"file": SimpleUploadedFile(name, content)},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 302, response.content
    course_import = CourseImport.objects.latest("pk")
    assert response["Location"] == reverse(
        "trainings:course_import_detail", kwargs={"pk": course_import.pk}
    )
    course_import.refresh_from_db()
    return course_import


def _apply(client, callbacks, course_import):
    with callbacks(execute=True):
        response = client.post(
            reverse("trainings:course_import_apply", kwargs={"pk": course_import.pk})
        )
    assert response.status_code == 302
    course_import.refresh_from_db()
    return course_import


def _imported(client, callbacks, content, name="hoc-vien.xlsx"):
    course_import = _upload(client, callbacks, content, name)
    assert course_import.status == CourseImport.Status.CHECKED, course_import.result
    return _apply(client, callbacks, course_import)


def _detail(client, course_import):
    return client.get(
        reverse("trainings:course_import_detail", kwargs={"pk": course_import.pk}),
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _errors(course_import) -> dict[int, str]:
    return {e["row"]: " ".join(e["messages"]) for e in course_import.result["errors"]}


# --- A clean file --------------------------------------------------------------------


@pytest.mark.django_db
def test_clean_xlsx_with_a_title_row_is_previewed_then_imported_through_the_service(
    signed_in, hai_dong, hai_hau, django_capture_on_commit_callbacks
):
    course_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))

    assert course_import.status == CourseImport.Status.CHECKED
    counts = course_import.result["counts"]
    assert (counts["rows"], counts["create"], counts["update"], counts["unchanged"]) == (4, 4, 0, 0)
    assert (
        counts["completions_commune"],
        counts["completions_district"],
        counts["completions_province"],
    ) == (1, 1, 1)
    assert not CourseEnrolment.objects.exists()  # the check writes nothing
    page = _detail(signed_in, course_import)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Import now" in text and "Phạm Thị Dung" in text and "Xã Hải Đông" in text
    assert "Refresh" not in page

    course_import = _apply(signed_in, django_capture_on_commit_callbacks, course_import)

    assert course_import.status == CourseImport.Status.DONE
    assert course_import.result["applied"] == {"created": 4, "updated": 0, "unchanged": 0}
    an = CourseEnrolment.objects.get(phone="0912345678")
    assert (an.course, an.commune, an.district) == (COURSE, hai_dong, None)
    assert (an.enrolled_on, an.completed_on, an.score) == (
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 20),
        Decimal("92.00"),
    )
    binh = CourseEnrolment.objects.get(full_name="Trần Thị Bình")
    assert (binh.email, binh.phone, binh.district, binh.commune) == (
        "binh.tt@haihau.gov.vn",
        "",
        hai_hau,
        None,
    )
    assert binh.score == Decimal("8.50")
    cuong = CourseEnrolment.objects.get(full_name="Lê Văn Cường")
    assert (cuong.phone, cuong.commune, cuong.district, cuong.score) == (
        "0913000111",
        None,
        None,
        None,
    )
    dung = CourseEnrolment.objects.get(full_name="Phạm Thị Dung")
    assert (dung.phone, dung.completed_on) == ("0381234567", None)
    # Written through the service: each completion's place and day was marked and, on
    # commit, rolled up into the dashboard's figures at its level (eager Celery here).
    assert not PendingRollup.objects.exists()
    completions = {
        (row.level, row.district_id, row.commune_id, row.day): row.course_completions
        for row in TrainingDay.objects.all()
    }
    assert completions[("commune", hai_hau.pk, hai_dong.pk, dt.date(2026, 3, 20))] == 1
    assert completions[("district", hai_hau.pk, None, dt.date(2026, 4, 2))] == 1
    assert completions[("province", None, None, dt.date(2026, 5, 9))] == 1
    assert "Course records created: 4" in _detail(signed_in, course_import).content.decode()


@pytest.mark.django_db
def test_reimporting_the_same_file_changes_nothing(
    signed_in, divisions, django_capture_on_commit_callbacks
):
    content = _xlsx(_clean_rows())
    _imported(signed_in, django_capture_on_commit_callbacks, content)
    before = list(CourseEnrolment.objects.order_by("pk").values())
    buckets_before = PendingRollup.objects.count()

    again = _upload(signed_in, django_capture_on_commit_callbacks, content)
    counts = again.result["counts"]
    assert (counts["create"], counts["update"], counts["unchanged"]) == (0, 0, 4)
    again = _apply(signed_in, django_capture_on_commit_callbacks, again)

    assert again.status == CourseImport.Status.DONE
    assert again.result["applied"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert list(CourseEnrolment.objects.order_by("pk").values()) == before
    assert PendingRollup.objects.count() == buckets_before


@pytest.mark.django_db
def test_an_updated_completion_date_updates_the_learners_record(
    signed_in, hai_dong, django_capture_on_commit_callbacks
):
    _imported(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))
    rows = _clean_rows()
    rows[0] = _row(completed="25/03/2026", score=95)  # the platform's later export
    rows[3] = _row(name="Phạm Thị Dung", phone="0381234567", completed="01/04/2026", score=70)

    course_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(rows))
    counts = course_import.result["counts"]
    assert (counts["create"], counts["update"], counts["unchanged"]) == (0, 2, 2)
    changes = {u["full_name"]: u["changes"] for u in course_import.result["updates"]}
    assert set(changes["Nguyễn Văn An"]) == {"Completed on", "Score"}
    marked = []

    def heard(**kwargs):
        marked.extend(kwargs["commune_days"])

    # The marks as the apply makes them (the eager roll-up its commit asks for takes
    # them from the queue at once).
    buckets_changed.connect(heard, dispatch_uid="test-course-import-marks")
    try:
        course_import = _apply(signed_in, django_capture_on_commit_callbacks, course_import)
    finally:
        buckets_changed.disconnect(dispatch_uid="test-course-import-marks")

    assert course_import.result["applied"] == {"created": 0, "updated": 2, "unchanged": 2}
    assert CourseEnrolment.objects.count() == 4
    an = CourseEnrolment.objects.get(phone="0912345678")
    assert (an.completed_on, an.score) == (dt.date(2026, 3, 25), Decimal("95.00"))
    dung = CourseEnrolment.objects.get(phone="0381234567")
    assert dung.completed_on == dt.date(2026, 4, 1)
    # The day the completion left and the day it moved to are both recomputed.
    for day in (dt.date(2026, 3, 20), dt.date(2026, 3, 25), dt.date(2026, 4, 1)):
        assert (hai_dong.pk, day) in marked


@pytest.mark.django_db
def test_a_csv_utf8_with_bom_and_english_headers_imports(
    signed_in, hai_dong, django_capture_on_commit_callbacks
):
    header = [
        "No.",
        "Full name",
        "Agency",
        "E-mail",
        "Phone number",
        "Course name",
        "Enrolment date",
        "Completion date",
        "Score (0-100)",
    ]
    content = _csv(_clean_rows(), header=header, delimiter=";")
    assert content.startswith(b"\xef\xbb\xbf")

    course_import = _imported(signed_in, django_capture_on_commit_callbacks, content, "list.csv")

    assert course_import.result["applied"]["created"] == 4
    assert CourseEnrolment.objects.get(phone="0912345678").commune == hai_dong
    assert CourseEnrolment.objects.get(full_name="Trần Thị Bình").completed_on == dt.date(
        2026, 4, 2
    )


# --- Bad rows refuse the whole file ---------------------------------------------------

BAD_ROWS = {
    "missing name": (_row(name=""), "full name"),
    "missing course": (_row(course=""), "course"),
    "no way to tell the learner apart": (_row(agency="", phone="", email=""), "e-mail, phone"),
    "malformed phone": (_row(phone="0123"), "Vietnamese mobile number"),
    "bad e-mail": (_row(phone="", email="an@@example"), "valid email"),
    "bad date": (_row(completed="31/02/2026"), "day/month/year"),
    "completed before enrolled": (
        _row(enrolled="10/03/2026", completed="01/03/2026"),
        "completed before enrolling",
    ),
    "score above 100": (_row(score=101), "from 0 to 100"),
    "negative score": (_row(score="-5"), "from 0 to 100"),
    "score not a number": (_row(score="đạt"), "from 0 to 100"),
    "completion in the future": (_row(completed="01/01/2099"), "in the future"),
    "same learner and course twice": (_row(name="Nguyễn Văn An"), "Row 4 already"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_one_bad_row_refuses_the_whole_file_naming_the_row(
    kind, signed_in, divisions, django_capture_on_commit_callbacks
):
    bad, reason = BAD_ROWS[kind]
    rows = [_row(), _row(name="Trần Thị Bình", phone="0913000111"), bad]
    course_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(rows))

    assert course_import.status == CourseImport.Status.INVALID
    # A title row, an empty row and the header come first: data starts on row 4.
    errors = _errors(course_import)
    assert list(errors) == [6], errors
    assert reason.lower() in errors[6].lower()
    page = _detail(signed_in, course_import)
    assert "Nothing was saved" in page.content.decode()
    assert "Import now" not in page.content.decode()
    # Applying is refused: the file is not ready, and nothing is written.
    course_import = _apply(signed_in, django_capture_on_commit_callbacks, course_import)
    assert course_import.status == CourseImport.Status.INVALID
    assert not CourseEnrolment.objects.exists()
    assert not PendingRollup.objects.exists()


@pytest.mark.django_db
def test_a_learner_told_apart_by_a_long_name_and_agency_is_imported(
    signed_in, divisions, django_capture_on_commit_callbacks
):
    # No phone and no e-mail: the record is found by name and agency, which once did not
    # fit the column that keeps them, and the apply failed on an unexpected error.
    name, agency = "Nguyễn " * 21 + "An", "Đ" * 200
    content = _xlsx([_row(name=name, agency=agency, phone="")])

    course_import = _imported(signed_in, django_capture_on_commit_callbacks, content)

    assert course_import.status == CourseImport.Status.DONE, course_import.result
    assert CourseEnrolment.objects.get().agency == agency


@pytest.mark.django_db
def test_the_apply_checks_again_and_writes_nothing_when_the_file_no_longer_passes(
    signed_in, divisions, django_capture_on_commit_callbacks
):
    course_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))
    assert course_import.status == CourseImport.Status.CHECKED
    # What the apply reads is no longer what was checked: its check finds the bad row.
    bad = _xlsx([*_clean_rows(), _row(name="Võ Văn Em", phone="0999", agency="")])
    CourseImport.objects.filter(pk=course_import.pk).update(content=bad)

    course_import = _apply(signed_in, django_capture_on_commit_callbacks, course_import)

    assert course_import.status == CourseImport.Status.INVALID
    assert list(_errors(course_import)) == [8]
    assert not CourseEnrolment.objects.exists()
    assert not PendingRollup.objects.exists()


@pytest.mark.django_db
def test_a_file_without_the_learner_and_course_columns_is_refused(
    signed_in, divisions, django_capture_on_commit_callbacks
):
    content = _xlsx([["a", "b"]], header=["Mã xã", "Tên tổ"])
    course_import = _upload(signed_in, django_capture_on_commit_callbacks, content)

    assert course_import.status == CourseImport.Status.INVALID
    assert "No header row" in course_import.result["file_error"]


# --- Who may import ------------------------------------------------------------------


@pytest.mark.django_db
def test_only_provincial_staff_and_administrators_may_import(client, hai_dong, staff):
    url = reverse("trainings:course_import_new")
    assert client.get(url).status_code == 302  # to the login page
    course_import = CourseImport.objects.create(created_by=staff, file_name="a.csv", content=b"x")
    detail = reverse("trainings:course_import_detail", kwargs={"pk": course_import.pk})
    for user in (commune_official(hai_dong), district_staff(hai_dong.district)):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"file": SimpleUploadedFile("a.csv", b"x")}).status_code == 403
        assert client.get(detail).status_code == 403
    assert CourseImport.objects.count() == 1
    for user in (staff, UserFactory(is_superuser=True)):
        client.force_login(user)
        assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_an_import_is_its_uploaders_alone(
    client, signed_in, divisions, django_capture_on_commit_callbacks
):
    course_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))
    colleague = province_staff(Province.objects.get())
    client.force_login(colleague)

    assert _detail(client, course_import).status_code == 404
    url = reverse("trainings:course_import_apply", kwargs={"pk": course_import.pk})
    assert client.post(url).status_code == 404
    course_import.refresh_from_db()
    assert course_import.status == CourseImport.Status.CHECKED


# --- The learners' list --------------------------------------------------------------


@pytest.fixture
def records(hai_dong, hai_hau, staff):
    """One learner counted in Hải Đông, one in another district's ward, one in Hải Hậu
    district and one at a provincial department."""
    day = dt.date(2026, 6, 1)
    for name, agency, course in (
        ("Nguyễn Văn An", "UBND xã Hải Đông", COURSE),
        ("Trần Thị Bình", "UBND phường Trần Tế Xương", COURSE),
        ("Lê Văn Cường", "UBND huyện Hải Hậu", "An toàn thông tin"),
        ("Phạm Thị Dung", "Sở Y tế", "An toàn thông tin"),
    ):
        course_enrolment_save(
            by=staff, course=course, full_name=name, agency=agency, enrolled_on=day
        )


def _listed(client, user, **params) -> set[str]:
    client.force_login(user)
    response = client.get(reverse("trainings:course_list"), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return {e.full_name for e in response.context["page"].object_list}


@pytest.mark.django_db
def test_the_learners_list_shows_the_records_counted_in_the_users_area(
    client, records, hai_dong, staff
):
    everyone = {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"}
    assert _listed(client, staff) == everyone
    assert _listed(client, UserFactory(is_superuser=True)) == everyone
    # District staff: their communes' and their district's, not another district's nor
    # the province's.
    assert _listed(client, district_staff(hai_dong.district)) == {"Nguyễn Văn An", "Lê Văn Cường"}
    assert _listed(client, commune_official(hai_dong)) == {"Nguyễn Văn An"}
    other = Commune.objects.get(code=13636)
    assert _listed(client, commune_official(other)) == {"Trần Thị Bình"}


@pytest.mark.django_db
def test_the_learners_list_is_refused_to_roles_that_do_not_read_trainings(client, hai_dong):
    leader = UserFactory(scope_level=ScopeLevel.TEAM)
    client.force_login(leader)
    assert client.get(reverse("trainings:course_list")).status_code == 403


@pytest.mark.django_db
def test_the_learners_list_searches_and_filters_by_course(client, records, staff):
    assert _listed(client, staff, q="cường") == {"Lê Văn Cường"}
    assert _listed(client, staff, q="Hải Đông") == {"Nguyễn Văn An"}
    assert _listed(client, staff, course="An toàn thông tin") == {"Lê Văn Cường", "Phạm Thị Dung"}
    assert _listed(client, staff, status="completed") == set()
    assert len(_listed(client, staff, status="not_completed")) == 4


@pytest.mark.django_db
def test_the_learners_list_makes_the_same_queries_whatever_the_number_of_rows(
    client, records, hai_dong, staff
):
    official = district_staff(hai_dong.district)
    client.force_login(official)
    url = reverse("trainings:course_list")
    client.get(url)  # warm the demo-ribbon cache
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(60):
        course_enrolment_save(
            by=staff,
            course=f"Khóa {n % 3}",
            full_name=f"Học viên {n}",
            agency="UBND xã Hải Đông" if n % 2 else "UBND huyện Hải Hậu",
            completed_on=dt.date(2026, 7, 1),
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"page": 2})
    assert len(response.context["page"].object_list) == 12  # 62 records, 50 a page
    assert len(many) == len(few)


@pytest.mark.django_db
def test_the_page_follows_a_waiting_check_and_the_check_can_be_asked_again(
    signed_in, divisions, django_capture_on_commit_callbacks
):
    # The worker never picked the check up (the broker was down when the file came).
    with django_capture_on_commit_callbacks(execute=False):
        signed_in.post(
            reverse("trainings:course_import_new"),
            {"file": SimpleUploadedFile("hoc-vien.xlsx", _xlsx(_clean_rows()))},
        )
    course_import = CourseImport.objects.get()
    page = _detail(signed_in, course_import)
    assert course_import.status == CourseImport.Status.UPLOADED
    assert page["Refresh"] == "2"
    assert "Waiting for the background worker" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            reverse("trainings:course_import_check", kwargs={"pk": course_import.pk})
        )
    assert response.status_code == 302
    course_import.refresh_from_db()
    assert course_import.status == CourseImport.Status.CHECKED
    assert course_import.result["counts"]["create"] == 4


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_learners_export_reimports_without_changes(
    signed_in, divisions, django_capture_on_commit_callbacks, fmt, language
):
    _imported(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))
    response = signed_in.get(
        reverse("trainings:course_export", kwargs={"fmt": fmt}), HTTP_ACCEPT_LANGUAGE=language
    )
    content = b"".join(response.streaming_content) if fmt == "csv" else response.content

    again = _upload(signed_in, django_capture_on_commit_callbacks, content, name=f"list.{fmt}")

    assert again.status == CourseImport.Status.CHECKED, again.result
    counts = again.result["counts"]
    assert (counts["create"], counts["update"], counts["unchanged"]) == (0, 0, 4)
