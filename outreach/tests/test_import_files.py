"""What offices' spreadsheets hold around the data, as the member import reads it: the
headers they write, columns the portal does not read, signature blocks, formulas, UTF-16
text, formula-like names. The machinery is shared (core/file_imports.py); the course
import's side is in trainings/tests/test_course_import_files.py."""

import csv
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.utils.html import escape

from core.file_imports import Header, header_key, headers_markdown, in_every_language
from core.file_imports.headers import HEADERS
from outreach import imports as member_imports
from outreach.imports import read_table
from outreach.models import Member, MemberImport, Team
from outreach.tests.test_imports import (
    HEADER,
    TITLE,
    _apply,
    _clean_rows,
    _detail,
    _errors,
    _row,
    _upload,
)
from trainings import imports as course_imports

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, divisions):
    from accounts.tests.factories import commune_official
    from communes.models import Commune
    from outreach.tests.factories import HamletFactory

    hai_dong = Commune.objects.get(code=14269)
    HamletFactory(commune=hai_dong, name="Thôn 1")
    client.force_login(commune_official(hai_dong))
    return client


def _renamed(**names: str) -> list[str]:
    """The usual header with some columns headed as an office would head them."""
    return [names.get(header, header) for header in HEADER]


def _xlsx(rows, *, header=HEADER, below=(), cells=None) -> bytes:
    """A workbook: a title row, the header, the rows, then what `below` adds."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([TITLE])
    sheet.append(header)
    for row in [*rows, *below]:
        sheet.append(row)
    for ref, value in (cells or {}).items():
        sheet[ref] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_text(rows, *, header=HEADER, delimiter=",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _page(client, member_import) -> str:
    return _detail(client, member_import).content.decode()


# --- Headers offices write ---------------------------------------------------------------


def test_chuc_vu_trong_to_is_read_as_the_role_so_the_team_gets_its_leader(
    signed_in, django_capture_on_commit_callbacks
):
    content = _xlsx(_clean_rows(), header=_renamed(**{"Vai trò": "Chức vụ trong tổ"}))
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content)
    assert member_import.status == MemberImport.Status.CHECKED, member_import.result

    _apply(signed_in, django_capture_on_commit_callbacks, member_import)

    leader = Member.objects.get(full_name="Nguyễn Văn An")
    assert leader.role == Member.Role.LEADER
    assert Member.objects.get(full_name="Trần Thị Bình").role == Member.Role.DEPUTY


def test_sdt_lien_he_is_read_as_the_phone(signed_in, django_capture_on_commit_callbacks):
    content = _xlsx(_clean_rows(), header=_renamed(**{"Số điện thoại": "SĐT liên hệ"}))
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content)

    _apply(signed_in, django_capture_on_commit_callbacks, member_import)

    assert Member.objects.get(full_name="Nguyễn Văn An").phone == "0912345678"
    assert Member.objects.get(full_name="Trần Thị Bình").phone == "0913000111"


def test_a_header_is_read_by_its_leading_words_the_longest_known_one_winning():
    header = [
        "Tổ trưởng",  # begins like "Tổ", the team: not a team, though
        "Tên tổ CNSCĐ",
        "Xã/Phường/Thị trấn",
        "Tổ dân phố/thôn",
        "Họ và tên thành viên tổ",
        "SĐT liên hệ của thành viên",
        "Ngày tham gia Zalo OA của thành viên",  # not "Ngày tham gia"
        "Ngày tham gia tổ CNS",
        "Thôn trưởng",  # begins like "Thôn", the hamlet: not a hamlet, though
        "Chức vụ trong tổ CNS",
        "SĐT",  # names the phone exactly: read rather than the column above
    ]
    row = ["Nguyễn Văn An", "Tổ 1", "Xã Hải Đông", "", "Trần Thị Bình"]
    content = _csv_text([row], header=header).encode()

    table = read_table(content)

    assert table.columns == {
        "team": 1,
        "commune_name": 2,
        "hamlet": 3,
        "full_name": 4,
        "zalo_joined_on": 6,
        "joined_on": 7,
        "role": 9,
        "phone": 10,
    }
    kinds = [header.kind for header in table.headers]
    assert kinds[0] == kinds[8] == Header.UNKNOWN
    assert kinds[5] == Header.DUPLICATE


def test_the_preview_lists_each_column_as_read_and_those_not_read(
    signed_in, django_capture_on_commit_callbacks
):
    header = [*HEADER, "Ghi chú", "", "SĐT liên hệ"]
    rows = [[*row, "Đã tập huấn", "ghi chú thêm", "0987000111"] for row in _clean_rows()]
    member_import = _upload(
        signed_in, django_capture_on_commit_callbacks, _xlsx(rows, header=header)
    )

    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    read = {c["column"]: c for c in member_import.result["columns"]}
    assert read["A"]["header"] == "STT" and not read["A"]["ignored"]
    assert read["H"]["read_as"] == "Phone"
    assert read["I"]["read_as"] == "Role in the team"
    assert read["O"]["ignored"] and read["P"]["ignored"] and read["Q"]["ignored"]
    page = _page(signed_in, member_import)
    assert "Row numbers, not needed" in page
    assert "Ghi chú" in page
    assert "Not read: the portal does not know this header." in page
    assert "Not read: the column has no header." in page
    assert "Not read: column H is already read as Phone." in page
    assert "3 columns not read" in page
    assert "Import now" in page


def test_a_needed_column_under_a_near_name_is_a_warning_that_does_not_block(
    signed_in, django_capture_on_commit_callbacks
):
    content = _xlsx(_clean_rows(), header=_renamed(**{"Số điện thoại": "Liên hệ (SĐT)"}))
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content)

    assert member_import.status == MemberImport.Status.CHECKED
    warning = (
        "No column was read as Phone; the column “Liên hệ (SĐT)” looks close: "
        "rename it to Số điện thoại."
    )
    assert member_import.result["warnings"] == [warning]
    page = _page(signed_in, member_import)
    assert escape(warning) in page
    assert "Import now" in page


def test_a_missing_role_column_is_a_warning(signed_in, django_capture_on_commit_callbacks):
    header = [h for h in HEADER if h != "Vai trò"]
    rows = [[v for i, v in enumerate(row) if HEADER[i] != "Vai trò"] for row in _clean_rows()]
    member_import = _upload(
        signed_in, django_capture_on_commit_callbacks, _xlsx(rows, header=header)
    )

    assert member_import.result["warnings"] == ["No column was read as Role in the team."]


def test_no_header_names_two_columns_of_one_import():
    for shape in (member_imports.SHAPE, course_imports.SHAPE):
        named: dict[str, str] = {}
        for column in shape.columns:
            headers = {header_key(h) for h in HEADERS[column.key]}
            for header in headers | in_every_language(column.label):
                assert named.setdefault(header, column.key) == column.key, header


def test_the_readme_lists_the_headers_each_import_reads():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    for shape in (member_imports.SHAPE, course_imports.SHAPE):
        table = headers_markdown(shape)
        assert table in readme, f"Paste into README.md's “Importing lists”:\n{table}"


# --- Around the data ---------------------------------------------------------------------

SIGNATURE = [
    [],
    ["", "", "", "", "", "", "", "", "", "Nam Định, ngày 05 tháng 12 năm 2026"],
    ["", "Người lập biểu", "", "", "", "", "", "", "", "T/M UBND xã"],
    ["", "(Ký, ghi rõ họ tên)", "", "", "", "", "", "", "", "Chủ tịch"],
    [],
    [],
    ["", "Nguyễn Văn Lập", "", "", "", "", "", "", "", "Trần Văn Chủ"],
]


def test_a_signature_block_under_the_list_is_skipped_and_said(
    signed_in, django_capture_on_commit_callbacks
):
    content = _xlsx(_clean_rows(), below=SIGNATURE)
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content)

    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    assert member_import.result["counts"]["rows"] == 4
    # Title (1), header (2), four rows (3-6), an empty row, the block (8-13).
    assert "Rows 8–13: signature block, not read." in _page(signed_in, member_import)
    _apply(signed_in, django_capture_on_commit_callbacks, member_import)
    assert Member.objects.count() == 4


def test_a_row_that_looks_like_a_signature_above_more_data_is_read_as_a_row(
    signed_in, django_capture_on_commit_callbacks
):
    rows = _clean_rows()
    rows.insert(2, ["", "", "", "", "Người lập biểu"])
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(rows))

    assert member_import.status == MemberImport.Status.INVALID
    assert list(_errors(member_import)) == [5]


@pytest.mark.parametrize(
    ("cell", "refused"),
    [
        ("H4", True),  # a phone
        ("B2", True),  # the header row (a column it reads)
        ("A4", False),  # the row numbers, not read
        ("J9", False),  # the signature block
    ],
)
def test_a_formula_without_its_computed_value_is_refused_where_it_is_read(
    signed_in, django_capture_on_commit_callbacks, cell, refused
):
    # openpyxl, like any program writing a workbook, stores the formula alone: Excel
    # computes it when it opens the file.
    content = _xlsx(_clean_rows(), below=SIGNATURE, cells={cell: "=A1&B1"})
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content)

    if refused:
        assert member_import.status == MemberImport.Status.INVALID
        assert member_import.result["file_error"] == (
            f"Cell {cell} holds a formula with no computed value: open the file in Excel "
            "and save it, then upload it again."
        )
    else:
        assert member_import.status == MemberImport.Status.CHECKED, member_import.result


def test_formulas_excel_computed_are_read_as_their_values(
    signed_in, django_capture_on_commit_callbacks
):
    content = _xlsx(_clean_rows(), cells={"E3": '="Nguyễn Văn "&"An"', "A3": "=ROW()-2"})
    # What Excel stores on saving: each formula with its result.
    book = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(book, "w") as saved:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = re.sub(
                    r'<c r="E3"[^>]*><f>(.*?)</f><v\s*/>',
                    r'<c r="E3" t="str"><f>\1</f><v>Nguyễn Văn An</v>',
                    text,
                )
                text = re.sub(
                    r'<c r="A3"[^>]*><f>(.*?)</f><v\s*/>', r'<c r="A3"><f>\1</f><v>1</v>', text
                )
                data = text.encode()
            saved.writestr(entry, data)

    member_import = _upload(signed_in, django_capture_on_commit_callbacks, book.getvalue())

    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    assert "Nguyễn Văn An" in [m["full_name"] for m in member_import.result["members_create"]]


def test_names_a_spreadsheet_would_run_as_formulas_are_refused(
    signed_in, django_capture_on_commit_callbacks
):
    rows = [
        _row(name='=HYPERLINK("http://x.vn","An")', phone="0912345678"),
        _row(name="@SUM(A1)", phone="0912345679"),
        _row(name="Trần Thị Bình", phone="=1+1"),
        _row(name="Lê Văn Cường", phone="+84 913 000 111"),
    ]
    content = _csv_text(rows).encode("utf-8-sig")
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content, "ds.csv")

    assert member_import.status == MemberImport.Status.INVALID
    errors = _errors(member_import)
    formula = (
        "Full name: A name cannot start with =, +, - or @: spreadsheets would run it as a formula."
    )
    assert errors[2].startswith(formula) and errors[3].startswith(formula)
    assert errors[4].startswith("Phone: Enter a Vietnamese mobile number")
    assert 5 not in errors  # "+84 …" is a phone
    assert not Team.objects.exists()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_unicode_text_saved_by_excel_as_csv_is_read(
    signed_in, django_capture_on_commit_callbacks, encoding
):
    # Excel's "Unicode text": UTF-16 (little-endian, with a byte-order mark), tabs between
    # the cells; some programs leave the byte-order mark out.
    content = _csv_text(_clean_rows(), delimiter="\t").encode(encoding)
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content, "ds.csv")

    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    names = {m["full_name"] for m in member_import.result["members_create"]}
    assert names == {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"}


def test_a_file_with_headers_only_shows_only_that(signed_in, django_capture_on_commit_callbacks):
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx([]))

    assert member_import.status == MemberImport.Status.INVALID
    assert member_import.result == {"file_error": "The file has a header row but no rows below it."}
    page = _page(signed_in, member_import)
    assert "The file has a header row but no rows below it." in page
    assert "What the import will do" not in page
    assert "Rows read" not in page
    assert "How the file&#x27;s columns were read" not in page


def test_how_the_file_was_read_is_told_in_the_uploaders_language(
    signed_in, django_capture_on_commit_callbacks
):
    header = [*_renamed(**{"Số điện thoại": "Liên hệ (SĐT)"}), "Ghi chú"]
    rows = [[*row, "x"] for row in _clean_rows()]
    content = _xlsx(rows, header=header, below=SIGNATURE)
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content, language="vi")

    # The page around them follows the reader's language (English here).
    text = _page(signed_in, member_import)
    assert "Không đọc: cổng thông tin không nhận ra tiêu đề này." in text
    assert "Các dòng 8–13: phần ký tên, không đọc." in text
    assert (
        escape(
            "Không có cột nào được đọc là Số điện thoại; cột “Liên hệ (SĐT)” có vẻ là cột này: "
            "hãy đổi tên cột thành Số điện thoại."
        )
        in text
    )
