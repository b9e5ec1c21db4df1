"""What offices' spreadsheets hold around the data, as the online-course import reads it:
learners, not members, in its messages; signature blocks; formula-like names; warnings
for the columns it needs. The shared machinery's member side is in
outreach/tests/test_import_files.py."""

import io
import zipfile

import openpyxl
import pytest
from django.utils.html import escape

from trainings.models import CourseEnrolment, CourseImport
from trainings.tests.test_course_import import (
    HEADER,
    TITLE,
    _clean_rows,
    _detail,
    _errors,
    _row,
    _upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, divisions):
    from accounts.tests.factories import province_staff
    from communes.models import Province

    client.force_login(province_staff(Province.objects.get()))
    return client


def _xlsx(rows, *, header=HEADER, below=()) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([TITLE])
    sheet.append(header)
    for row in [*rows, *below]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _page(client, course_import) -> str:
    return _detail(client, course_import).content.decode()


def test_a_signature_block_under_the_learners_is_skipped_and_said(
    signed_in, django_capture_on_commit_callbacks
):
    below = [
        [],
        ["", "", "", "", "", "", "", "Hà Nội, ngày … tháng … năm …"],
        ["", "Người lập biểu", "", "", "", "", "", "Thủ trưởng đơn vị"],
        ["", "(Ký, ghi rõ họ tên)", "", "", "", "", "", "(Ký tên, đóng dấu)"],
        [],
        ["", "Nguyễn Thị Lập"],  # under the learners' names
    ]
    content = _xlsx(_clean_rows(), below=below)
    course_import = _upload(signed_in, django_capture_on_commit_callbacks, content)

    assert course_import.status == CourseImport.Status.CHECKED, course_import.result
    assert course_import.result["counts"]["rows"] == 4
    # Title (1), header (2), four learners (3-6), an empty row, the block (8-12).
    assert "Rows 8–12: signature block, not read." in _page(signed_in, course_import)


def test_learner_and_agency_names_a_spreadsheet_would_run_are_refused(
    signed_in, django_capture_on_commit_callbacks
):
    rows = [
        _row(name='=HYPERLINK("http://x.vn","An")'),
        _row(name="Trần Thị Bình", agency="@SUM(A1)", phone="0913000111"),
        _row(name="Lê Văn Cường", phone="+84 914 000 222"),
    ]
    # XLSX would store the text as a formula: the CSV gives it as text.
    lines = [",".join(HEADER)] + [
        ",".join(f'"{str(v).replace(chr(34), 2 * chr(34))}"' for v in row) for row in rows
    ]
    content = "\n".join(lines).encode("utf-8-sig")
    course_import = _upload(signed_in, django_capture_on_commit_callbacks, content, "hv.csv")

    assert course_import.status == CourseImport.Status.INVALID
    errors = _errors(course_import)
    assert "A name cannot start with =, +, - or @" in errors[2]
    assert "A name cannot start with =, +, - or @" in errors[3]
    assert 4 not in errors
    assert not CourseEnrolment.objects.exists()


def test_no_phone_or_email_column_is_a_warning_naming_the_column_that_looks_like_it(
    signed_in, django_capture_on_commit_callbacks
):
    header = [{"Số điện thoại": "Liên hệ (SĐT)", "Email": "Ghi chú"}.get(h, h) for h in HEADER]
    course_import = _upload(
        signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows(), header=header)
    )

    assert course_import.status == CourseImport.Status.CHECKED, course_import.result
    warning = (
        "No column was read as Phone; the column “Liên hệ (SĐT)” looks close: "
        "rename it to Số điện thoại."
    )
    assert course_import.result["warnings"] == [warning]
    assert escape(warning) in _page(signed_in, course_import)


def test_a_file_with_headers_only_shows_only_that(signed_in, django_capture_on_commit_callbacks):
    course_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx([]))

    assert course_import.status == CourseImport.Status.INVALID
    page = _page(signed_in, course_import)
    assert "The file has a header row but no rows below it." in page
    assert "Rows read" not in page
    assert "How the file&#x27;s columns were read" not in page


def test_a_workbook_unpacking_into_far_more_is_refused_without_speaking_of_members(
    signed_in, django_capture_on_commit_callbacks
):
    book = io.BytesIO(_xlsx(_clean_rows()))
    out = io.BytesIO()
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(out, "w") as bomb:
        for entry in source.infolist():
            bomb.writestr(entry, source.read(entry), compress_type=zipfile.ZIP_DEFLATED)
        padding = b"<!--" + b" " * (60 * 1024 * 1024) + b"-->"
        bomb.writestr("xl/padding.xml", padding, compress_type=zipfile.ZIP_DEFLATED)

    course_import = _upload(signed_in, django_capture_on_commit_callbacks, out.getvalue())

    assert course_import.status == CourseImport.Status.INVALID
    message = course_import.result["file_error"]
    assert "unpacks to far more" in message and "member" not in message
