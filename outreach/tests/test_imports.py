"""Bulk import of teams and members: check, preview, all-or-nothing apply, re-import."""

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from accounts.models import User
from accounts.tests.factories import UserFactory, commune_official, province_staff
from dashboard.models import CommuneDay, PendingRollup
from outreach.imports import member_import_check, read_table
from outreach.models import Member, MemberImport, Team
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

HEADER = [
    "STT",
    "Mã xã",
    "Tên tổ",
    "Thôn/xóm",
    "Họ và tên",
    "Giới tính",
    "Năm sinh",
    "Số điện thoại",
    "Vai trò",
    "Đoàn viên",
    "Đơn vị",
    "Tham gia Zalo OA",
    "Ngày tham gia Zalo OA",
    "Ngày tham gia",
]
TITLE = "DANH SÁCH TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG XÃ HẢI ĐÔNG"


def _row(code=14269, team="Tổ CNS thôn 1", name="Nguyễn Văn An", **kw):
    values = {
        "hamlet": "",
        "gender": "Nam",
        "birth_year": 1995,
        "phone": "0912 345 678",
        "role": "Thành viên",
        "youth": "có",
        "affiliation": "Đoàn thanh niên",
        "zalo": "có",
        "zalo_on": "15/03/2023",
        "joined_on": "01/03/2023",
    }
    values.update(kw)
    return [
        1,
        code,
        team,
        values["hamlet"],
        name,
        values["gender"],
        values["birth_year"],
        values["phone"],
        values["role"],
        values["youth"],
        values["affiliation"],
        values["zalo"],
        values["zalo_on"],
        values["joined_on"],
    ]


def _clean_rows():
    return [
        _row(name="Nguyễn Văn An", phone="0912345678", role="Tổ trưởng", hamlet="Thôn 1"),
        _row(name="Trần Thị Bình", phone="+84 913 000 111", role="Tổ phó", gender="Nữ"),
        _row(name="Lê Văn Cường", phone="", role="Thành viên", zalo="không", zalo_on=""),
        _row(
            team="Tổ CNS thôn 2",
            name="Phạm Thị Dung",
            phone="0168 123 4567",  # an old 11-digit number
            role="tổ trưởng",
            gender="nữ",
            joined_on=dt.date(2023, 4, 2),  # an Excel date cell
        ),
    ]


def _xlsx(rows, *, title=True) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append([TITLE])
    sheet.append(HEADER)
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
def hamlet(hai_dong):
    return HamletFactory(commune=hai_dong, name="Thôn 1")


@pytest.fixture
def signed_in(client, official):
    client.force_login(official)
    return client


def _upload(
    client,
    django_capture_on_commit_callbacks,
    content,
    name="ds.xlsx",
    create_logins=False,
    language="en",
):
    """Upload a file as the signed-in user; the check runs (eagerly) once it is committed."""
    data = {"file": SimpleUploadedFile(name, content)}
    if create_logins:
        data["create_logins"] = "on"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("outreach:member_import_new"), data, HTTP_ACCEPT_LANGUAGE=language
        )
    assert response.status_code == 302, response.content
    member_import = MemberImport.objects.latest("pk")
    assert response["Location"] == reverse(
        "outreach:member_import_detail", kwargs={"pk": member_import.pk}
    )
    member_import.refresh_from_db()
    return member_import


def _apply(client, django_capture_on_commit_callbacks, member_import):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("outreach:member_import_apply", kwargs={"pk": member_import.pk})
        )
    assert response.status_code == 302
    member_import.refresh_from_db()
    return member_import


def _detail(client, member_import):
    return client.get(
        reverse("outreach:member_import_detail", kwargs={"pk": member_import.pk}),
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _errors(member_import) -> dict[int, str]:
    return {e["row"]: " ".join(e["messages"]) for e in member_import.result["errors"]}


@pytest.mark.django_db
def test_clean_xlsx_with_a_title_row_is_previewed_then_imported_through_the_services(
    signed_in, hamlet, hai_dong, django_capture_on_commit_callbacks
):
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))

    assert member_import.status == MemberImport.Status.CHECKED
    counts = member_import.result["counts"]
    assert counts["teams_create"] == 2
    assert counts["members_create"] == 4
    assert counts["members_update"] == 0
    assert not Team.objects.exists()  # the check writes nothing
    page = _detail(signed_in, member_import)
    assert page.status_code == 200
    assert "Import now" in page.content.decode()
    assert "Phạm Thị Dung" in page.content.decode()
    assert "Refresh" not in page

    member_import = _apply(signed_in, django_capture_on_commit_callbacks, member_import)

    assert member_import.status == MemberImport.Status.DONE
    assert member_import.result["applied"]["members_created"] == 4
    team1 = Team.objects.get(commune=hai_dong, name="Tổ CNS thôn 1")
    assert team1.hamlet == hamlet
    assert team1.formed_on == dt.date(2023, 3, 1)  # the earliest joining day of its rows
    an = Member.objects.get(phone="0912345678")
    assert (an.team, an.role, an.gender, an.birth_year) == (team1, "leader", "male", 1995)
    assert an.is_youth_union_member and an.affiliation == "youth_union"
    assert an.on_zalo_oa and an.zalo_joined_on == dt.date(2023, 3, 15)
    assert Member.objects.get(full_name="Trần Thị Bình").phone == "0913000111"
    cuong = Member.objects.get(full_name="Lê Văn Cường")
    assert (cuong.phone, cuong.on_zalo_oa, cuong.zalo_joined_on) == ("", False, None)
    dung = Member.objects.get(full_name="Phạm Thị Dung")
    assert (dung.phone, dung.role, dung.joined_on) == ("0381234567", "leader", dt.date(2023, 4, 2))
    # Written through the services: the changed days were marked and, on commit, rolled
    # up into the dashboard's figures (eager Celery here).
    assert not PendingRollup.objects.exists()
    joined = dict(CommuneDay.objects.filter(commune=hai_dong).values_list("day", "members_joined"))
    assert joined[dt.date(2023, 3, 1)] == 3 and joined[dt.date(2023, 4, 2)] == 1
    zalo = CommuneDay.objects.get(commune=hai_dong, day=dt.date(2023, 3, 15))
    assert zalo.zalo_joined >= 1


@pytest.mark.django_db
def test_reimporting_the_same_file_changes_nothing(
    signed_in, hamlet, django_capture_on_commit_callbacks
):
    content = _xlsx(_clean_rows())
    _apply(
        signed_in,
        django_capture_on_commit_callbacks,
        _upload(signed_in, django_capture_on_commit_callbacks, content),
    )
    before = list(Member.objects.order_by("pk").values())
    buckets_before = PendingRollup.objects.count()

    again = _upload(signed_in, django_capture_on_commit_callbacks, content)
    counts = again.result["counts"]
    assert (counts["teams_create"], counts["teams_update"]) == (0, 0)
    assert (counts["members_create"], counts["members_update"], counts["unchanged"]) == (0, 0, 4)
    again = _apply(signed_in, django_capture_on_commit_callbacks, again)

    assert again.status == MemberImport.Status.DONE
    applied = again.result["applied"]
    assert applied["members_created"] == applied["members_updated"] == 0
    assert applied["teams_created"] == 0
    assert list(Member.objects.order_by("pk").values()) == before
    assert PendingRollup.objects.count() == buckets_before


@pytest.mark.django_db
def test_a_changed_row_updates_the_member_it_names_and_empty_cells_keep_values(
    signed_in, hamlet, django_capture_on_commit_callbacks
):
    _apply(
        signed_in,
        django_capture_on_commit_callbacks,
        _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows())),
    )
    rows = [
        # Same phone, name corrected, birth year left empty.
        _row(name="Nguyễn Văn Ân", phone="0912345678", role="Tổ trưởng", birth_year=None),
        # No phone before: found by name, and gets the phone.
        _row(name="Lê Văn Cường", phone="0977000222", zalo="", zalo_on=""),
    ]
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(rows))
    assert member_import.result["counts"]["members_update"] == 2
    assert member_import.result["counts"]["members_create"] == 0
    _apply(signed_in, django_capture_on_commit_callbacks, member_import)

    an = Member.objects.get(phone="0912345678")
    assert (an.full_name, an.birth_year) == ("Nguyễn Văn Ân", 1995)
    assert Member.objects.get(full_name="Lê Văn Cường").phone == "0977000222"
    assert Member.objects.count() == 4


@pytest.mark.django_db
def test_a_new_leader_may_replace_one_who_steps_down_in_the_same_file(
    signed_in, hai_dong, django_capture_on_commit_callbacks
):
    team = TeamFactory(commune=hai_dong, name="Tổ CNS thôn 1")
    old = MemberFactory(team=team, role="leader", phone="0912345678", full_name="Nguyễn Văn An")
    rows = [
        _row(name="Trần Văn Mới", phone="0913999888", role="Tổ trưởng"),
        _row(name="Nguyễn Văn An", phone="0912345678", role="Thành viên"),
    ]
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(rows))
    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    _apply(signed_in, django_capture_on_commit_callbacks, member_import)

    old.refresh_from_db()
    assert old.role == "member"
    assert Member.objects.get(phone="0913999888").role == "leader"


def _bad_unknown_commune(hai_dong):
    return _row(code=99999), "No commune has the code 99999."


def _bad_phone(hai_dong):
    return _row(phone="0123"), "Enter a Vietnamese mobile number"


def _bad_second_leader_in_file(hai_dong):
    return _row(name="Vũ Văn Em", phone="0915000001", role="Tổ trưởng"), (
        "Row 3 already names this team's leader."
    )


def _bad_second_leader_in_database(hai_dong):
    team = TeamFactory(commune=hai_dong, name="Tổ CNS thôn 2")
    MemberFactory(team=team, role="leader", full_name="Đỗ Thị Hoa", phone="0988000111")
    return _row(team="Tổ CNS thôn 2", name="Vũ Văn Em", phone="0915000001", role="Tổ trưởng"), (
        "This team already has an active leader: Đỗ Thị Hoa."
    )


def _bad_phone_of_another_member(hai_dong):
    other_team = TeamFactory(commune=hai_dong, name="Tổ khác")
    MemberFactory(team=other_team, phone="0988000222")
    return _row(name="Vũ Văn Em", phone="0988 000 222"), (
        "This phone number belongs to another active member."
    )


def _bad_phone_twice_in_file(hai_dong):
    return _row(name="Vũ Văn Em", phone="0912345678"), "is also on row 3"


def _bad_commune_outside_scope(hai_dong):
    return _row(code=13636), "Phường Trần Tế Xương is outside the area you work in."


def _bad_unknown_hamlet(hai_dong):
    return _row(name="Vũ Văn Em", phone="0915000001", hamlet="Thôn Không Có"), (
        "Xã Hải Đông has no hamlet called Thôn Không Có; add it first."
    )


def _bad_missing_name(hai_dong):
    return _row(name=""), "Give the member's full name."


def _bad_missing_team(hai_dong):
    return _row(team=""), "Give the team's name."


def _bad_date(hai_dong):
    return _row(name="Vũ Văn Em", phone="0915000001", joined_on="31/02/2023"), (
        "Joined on: Enter the date as day/month/year"
    )


def _bad_joined_tomorrow(hai_dong):
    # The member form refuses it too: nobody has joined a team tomorrow.
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    return _row(name="Vũ Văn Em", phone="0915000001", joined_on=tomorrow), (
        "Joined on: Choose today or a day in the past."
    )


def _bad_birth_year(hai_dong):
    # More digits than a float holds: the check once failed on an unexpected error.
    return _row(name="Vũ Văn Em", phone="0915000001", birth_year="9" * 400), (
        "Year of birth: Enter the year with four digits, such as 1995."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad",
    [
        _bad_unknown_commune,
        _bad_phone,
        _bad_second_leader_in_file,
        _bad_second_leader_in_database,
        _bad_phone_of_another_member,
        _bad_phone_twice_in_file,
        _bad_commune_outside_scope,
        _bad_unknown_hamlet,
        _bad_missing_name,
        _bad_missing_team,
        _bad_date,
        _bad_joined_tomorrow,
        _bad_birth_year,
    ],
)
def test_one_bad_row_refuses_the_whole_file_with_its_row_number_and_reason(
    bad, signed_in, hai_dong, django_capture_on_commit_callbacks
):
    row, reason = bad(hai_dong)
    teams_before, members_before = Team.objects.count(), Member.objects.count()
    rows = [
        _row(name="Nguyễn Văn An", phone="0912345678", role="Tổ trưởng"),  # row 3
        row,  # row 4
        _row(name="Trần Thị Bình", phone="0913000111"),  # row 5
    ]
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(rows))

    assert member_import.status == MemberImport.Status.INVALID
    errors = _errors(member_import)
    assert list(errors) == [4]
    assert reason in errors[4]
    page = _detail(signed_in, member_import)
    assert escape(reason) in page.content.decode()
    assert "Import now" not in page.content.decode()
    # Nothing is stored, and the file cannot be applied.
    response = signed_in.post(
        reverse("outreach:member_import_apply", kwargs={"pk": member_import.pk})
    )
    assert response.status_code == 302
    member_import.refresh_from_db()
    assert member_import.status == MemberImport.Status.INVALID
    assert (Team.objects.count(), Member.objects.count()) == (teams_before, members_before)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["vi", "en"])
def test_errors_are_reported_in_the_uploaders_language(
    signed_in, language, django_capture_on_commit_callbacks
):
    content = _xlsx([_row(team="")])
    member_import = _upload(
        signed_in, django_capture_on_commit_callbacks, content, language=language
    )
    assert member_import.language == language
    with translation.override(language):
        expected = translation.gettext("Give the team's name.")
    assert _errors(member_import)[3] == expected


@pytest.mark.django_db
def test_apply_refuses_everything_when_the_database_changed_since_the_check(
    signed_in, hamlet, hai_dong, django_capture_on_commit_callbacks
):
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))
    assert member_import.status == MemberImport.Status.CHECKED
    # Meanwhile someone gives one of the file's phone numbers to a member of another team.
    MemberFactory(team=TeamFactory(commune=hai_dong, name="Tổ khác"), phone="0913000111")

    member_import = _apply(signed_in, django_capture_on_commit_callbacks, member_import)

    assert member_import.status == MemberImport.Status.INVALID
    assert "belongs to another active member" in _errors(member_import)[4]
    assert not Team.objects.filter(name__startswith="Tổ CNS").exists()
    assert Member.objects.count() == 1


@pytest.mark.django_db
def test_a_second_apply_click_imports_nothing_more(
    signed_in, hamlet, django_capture_on_commit_callbacks
):
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))
    _apply(signed_in, django_capture_on_commit_callbacks, member_import)
    _apply(signed_in, django_capture_on_commit_callbacks, member_import)
    assert Member.objects.count() == 4


@pytest.mark.django_db
def test_csv_in_utf8_with_bom_imports(signed_in, hamlet, django_capture_on_commit_callbacks):
    content = _csv(_clean_rows())
    assert content.startswith(b"\xef\xbb\xbf")
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content, "ds.csv")
    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    _apply(signed_in, django_capture_on_commit_callbacks, member_import)
    assert Member.objects.count() == 4
    assert Team.objects.filter(name="Tổ CNS thôn 2").exists()


@pytest.mark.django_db
def test_csv_with_semicolons_and_english_headers_is_read(signed_in, hai_dong):
    header = ["Commune", "Team", "Full name", "Phone", "Role", "Joined on"]
    rows = [["Xã Hải Đông", "Team A", "Nguyễn Văn An", "0912345678", "leader", "2023-03-01"]]
    table = read_table(_csv(rows, header=header, delimiter=";", encoding="utf-8"))
    assert table.header_row == 1
    assert set(table.columns) == {
        "commune_name",
        "team",
        "full_name",
        "phone",
        "role",
        "joined_on",
    }
    assert table.rows[0][1][0] == "Xã Hải Đông"


@pytest.mark.django_db
def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_error(
    signed_in, django_capture_on_commit_callbacks
):
    content = bytes(range(256)) * 20
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content, "ds.csv")
    assert member_import.status == MemberImport.Status.INVALID
    assert "CSV UTF-8" in member_import.result["file_error"]


def _zip_bomb() -> bytes:
    """A real workbook whose shared strings unpack from some 100 KB into 60 MB."""
    book = io.BytesIO(_xlsx([_row()]))
    out = io.BytesIO()
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(out, "w") as bomb:
        for entry in source.infolist():
            bomb.writestr(entry, source.read(entry), compress_type=zipfile.ZIP_DEFLATED)
        padding = b"<!--" + b" " * (60 * 1024 * 1024) + b"-->"
        bomb.writestr("xl/padding.xml", padding, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.mark.django_db
def test_a_workbook_that_unpacks_into_far_more_is_refused_unread(
    signed_in, django_capture_on_commit_callbacks
):
    content = _zip_bomb()
    assert len(content) < 200 * 1024
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content, "ds.xlsx")
    assert member_import.status == MemberImport.Status.INVALID
    assert "unpacks to far more" in member_import.result["file_error"]
    assert not Member.objects.exists()


@pytest.mark.django_db
def test_a_file_over_the_size_limit_is_refused_at_upload_in_vietnamese(signed_in):
    big = b"a,b\n" * (MemberImport.MAX_FILE_SIZE // 4 + 1)
    response = signed_in.post(
        reverse("outreach:member_import_new"),
        {"file": SimpleUploadedFile("ds.csv", big)},
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert any("MB" in e for e in errors), errors
    assert not MemberImport.objects.exists()


@pytest.mark.django_db
def test_a_file_without_the_needed_headers_is_refused(
    signed_in, django_capture_on_commit_callbacks
):
    content = _csv([["a", "b"]], header=["Họ và tên", "Số điện thoại"])
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, content, "ds.csv")
    assert member_import.status == MemberImport.Status.INVALID
    assert "No header row was found" in member_import.result["file_error"]


@pytest.mark.django_db
def test_old_xls_files_are_refused_at_upload(signed_in):
    response = signed_in.post(
        reverse("outreach:member_import_new"),
        {"file": SimpleUploadedFile("ds.xls", b"\xd0\xcf\x11\xe0rest")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert ".xlsx" in response.content.decode()
    assert not MemberImport.objects.exists()


@pytest.mark.django_db
def test_logins_are_created_for_the_leaders_when_asked_and_passwords_served_once(
    signed_in, hamlet, django_capture_on_commit_callbacks
):
    member_import = _upload(
        signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()), create_logins=True
    )
    assert member_import.result["counts"]["logins"] == 2
    member_import = _apply(signed_in, django_capture_on_commit_callbacks, member_import)
    assert member_import.result["applied"]["logins_created"] == 2

    an = Member.objects.get(phone="0912345678")
    assert an.user is not None and an.user.username == "0912345678"
    assert Member.objects.get(full_name="Trần Thị Bình").user is None  # a deputy
    url = reverse("outreach:member_import_logins", kwargs={"pk": member_import.pk})
    response = signed_in.post(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Login name", "Password"]
    passwords = {row[0]: row[1] for row in rows[1:]}
    assert set(passwords) == {"0912345678", "0381234567"}
    assert User.objects.get(username="0912345678").check_password(passwords["0912345678"])
    # Served once: the second request gets no passwords.
    again = signed_in.post(url)
    assert again.status_code == 302
    member_import.refresh_from_db()
    assert member_import.new_logins == []


@pytest.mark.django_db
def test_a_leader_without_a_phone_cannot_get_a_login(signed_in, django_capture_on_commit_callbacks):
    content = _xlsx([_row(phone="", role="Tổ trưởng")])
    member_import = _upload(
        signed_in, django_capture_on_commit_callbacks, content, create_logins=True
    )
    assert member_import.status == MemberImport.Status.INVALID
    assert "needs a phone number to log in" in _errors(member_import)[3]


@pytest.mark.django_db
def test_team_leader_and_provincial_staff_get_403_on_the_import_pages(client, official, hai_dong):
    leader = MemberFactory(team=TeamFactory(commune=hai_dong), role="leader", phone="0912000333")
    user, _password = member_login_create(by=official, member=leader)
    for who in (user, province_staff(hai_dong.district.province)):
        client.force_login(who)
        assert client.get(reverse("outreach:member_import_new")).status_code == 403
        assert client.get(reverse("outreach:member_import_template")).status_code == 403


@pytest.mark.django_db
def test_import_pages_need_a_login(client):
    response = client.get(reverse("outreach:member_import_new"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_another_officials_import_is_not_found(
    client, signed_in, hai_dong, django_capture_on_commit_callbacks
):
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(_clean_rows()))
    client.force_login(commune_official(hai_dong))
    assert _detail(client, member_import).status_code == 404
    apply_url = reverse("outreach:member_import_apply", kwargs={"pk": member_import.pk})
    assert client.post(apply_url).status_code == 404


@pytest.mark.django_db
def test_a_superuser_imports_for_any_commune(client, divisions, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(is_superuser=True))
    content = _xlsx([_row(code=13636, team="Tổ phường", name="Ngô Văn Phúc")])
    member_import = _upload(client, django_capture_on_commit_callbacks, content)
    _apply(client, django_capture_on_commit_callbacks, member_import)
    assert Member.objects.get(full_name="Ngô Văn Phúc").team.commune.code == 13636


@pytest.mark.django_db
def test_the_upload_page_and_the_progress_page_show(signed_in, hamlet):
    response = signed_in.get(reverse("outreach:member_import_new"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Download the template" in response.content.decode()
    vietnamese = signed_in.get(reverse("outreach:member_import_new"), HTTP_ACCEPT_LANGUAGE="vi")
    assert vietnamese.status_code == 200
    # Without a worker the check waits; the page says so and refreshes itself.
    response = signed_in.post(
        reverse("outreach:member_import_new"),
        {"file": SimpleUploadedFile("ds.xlsx", _xlsx(_clean_rows()))},
    )
    member_import = MemberImport.objects.get()
    assert member_import.status == MemberImport.Status.UPLOADED
    page = _detail(signed_in, member_import)
    assert page["Refresh"] == "2"
    assert "Waiting for the background worker" in page.content.decode()
    # Once checked (here by hand, as a worker would), the preview shows in either language.
    member_import.refresh_from_db()
    member_import_check(member_import)
    for language in ("vi", "en"):
        page = signed_in.get(
            reverse("outreach:member_import_detail", kwargs={"pk": member_import.pk}),
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert page.status_code == 200
        assert "Refresh" not in page
        assert "Nguyễn Văn An" in page.content.decode()


@pytest.mark.django_db
def test_the_template_downloads_and_reads_back_as_an_import_file(signed_in, hai_dong):
    response = signed_in.get(reverse("outreach:member_import_template"), HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][0] == 14269  # the official's own commune in the example
    table = read_table(response.content)
    assert {"commune_code", "team", "full_name", "phone", "role", "joined_on"} <= set(table.columns)


@pytest.mark.django_db
def test_a_large_file_imports_in_the_eager_task(
    signed_in, hai_dong, django_capture_on_commit_callbacks
):
    rows = []
    # Enough rows to go through the task in several progress steps; how fast a province
    # sized file imports is measured in bench/, not asserted here.
    for team in range(60):
        for seat in range(10):
            n = team * 10 + seat
            rows.append(
                _row(
                    team=f"Tổ {team}",
                    name=f"Thành viên {n}",
                    phone=f"09{n:08d}",
                    role="Tổ trưởng" if seat == 0 else "Thành viên",
                    zalo="",
                    zalo_on="",
                )
            )
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx(rows))
    assert member_import.status == MemberImport.Status.CHECKED, _errors(member_import)
    member_import = _apply(signed_in, django_capture_on_commit_callbacks, member_import)

    assert member_import.status == MemberImport.Status.DONE
    assert Team.objects.filter(commune=hai_dong).count() == 60
    assert Member.objects.filter(team__commune=hai_dong).count() == 600


@pytest.mark.django_db
def test_unread_passwords_and_old_imports_are_forgotten(divisions):
    from django.utils import timezone

    from accounts.tests.factories import UserFactory
    from outreach.imports import member_imports_expire

    owner = UserFactory()
    now = timezone.now()

    def made(hours_ago, logins):
        item = MemberImport.objects.create(
            created_by=owner, file_name="x.csv", content=b"", new_logins=logins
        )
        MemberImport.objects.filter(pk=item.pk).update(
            created_at=now - timezone.timedelta(hours=hours_ago)
        )
        return item

    fresh = made(1, [["0912345678", "abcd-efgh-jkmn"]])
    day_old = made(30, [["0912345679", "abcd-efgh-jkmp"]])
    month_old = made(24 * 31, [])

    assert member_imports_expire(now=now) == (1, 1)

    assert MemberImport.objects.get(pk=fresh.pk).new_logins
    assert MemberImport.objects.get(pk=day_old.pk).new_logins == []
    assert not MemberImport.objects.filter(pk=month_old.pk).exists()


@pytest.mark.django_db
def test_an_upload_is_kept_and_answered_when_its_check_cannot_be_queued(
    signed_in, hamlet, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    """A broker that refuses the task must not fail the upload: the file is stored and
    its page says it waits for the worker (the check can be asked again from there)."""
    from core import file_imports

    def refuse(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(file_imports, "_queue", refuse)
    member_import = _upload(signed_in, django_capture_on_commit_callbacks, _xlsx([_row()]))
    assert member_import.status == MemberImport.Status.UPLOADED
    assert "broker down" in caplog.text
