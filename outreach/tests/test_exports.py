"""Exports of members, teams and visits: the user's scope only, Excel-friendly, safe,
re-importable. (Every list's export with its filters: test_list_exports.py.)"""

import csv
import datetime as dt
import io
import uuid

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory, province_staff
from communes.models import Commune
from outreach.models import Member, MemberImport
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def tran_te_xuong(divisions):
    return Commune.objects.get(code=13636)


@pytest.fixture
def roster(hai_dong, tran_te_xuong):
    """Two teams in Hải Đông (one in a hamlet) and one in another district's ward."""
    hamlet = HamletFactory(commune=hai_dong, name="Thôn Đông")
    team = TeamFactory(commune=hai_dong, name="Tổ CNS thôn Đông", hamlet=hamlet)
    MemberFactory(
        team=team,
        full_name="Nguyễn Văn An",
        phone="0912345678",
        role=Member.Role.LEADER,
        gender=Member.Gender.MALE,
        birth_year=1990,
        is_youth_union_member=True,
        affiliation=Member.Affiliation.YOUTH_UNION,
        on_zalo_oa=True,
        zalo_joined_on=dt.date(2023, 5, 2),
    )
    MemberFactory(team=team, full_name="Trần Thị Bình", phone="", role=Member.Role.DEPUTY)
    MemberFactory(team=team, full_name="=cmd|' /C calc'!A0", phone="0913000111")
    MemberFactory(
        team=team,
        full_name="Lê Văn Cũ",
        phone="0914000222",
        is_active=False,
        left_on=dt.date(2024, 1, 10),
    )
    other = TeamFactory(commune=hai_dong, name="+Tổ hai")
    MemberFactory(team=other, full_name="Phạm Văn Dũng", phone="0915000333")
    far_team = TeamFactory(commune=tran_te_xuong, name="Tổ phường")
    MemberFactory(team=far_team, full_name="Hoàng Thị Xa", phone="0916000444")
    return team


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return list(sheet.iter_rows(values_only=True))


def _get(client, name, fmt, query=None):
    return client.get(
        reverse(f"outreach:{name}", kwargs={"fmt": fmt}), query or {}, HTTP_ACCEPT_LANGUAGE="en"
    )


# The member list's filters, with the members who left: the export is the list's.
EVERY_MEMBER = {"status": "all"}


@pytest.mark.django_db
def test_member_csv_holds_only_the_officials_commune_and_starts_with_a_bom(
    client, official, roster
):
    client.force_login(official)
    response = _get(client, "member_export", "csv", EVERY_MEMBER)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    rows = _csv_rows(response)
    assert rows[0][:5] == ["Commune code", "Commune", "Team", "Hamlet", "Full name"]
    names = [row[4] for row in rows[1:]]
    assert "Hoàng Thị Xa" not in names  # another district's ward
    assert "Nguyễn Văn An" in names and "Phạm Văn Dũng" in names
    assert len(rows) == 1 + 5
    leader = next(row for row in rows if row[4] == "Nguyễn Văn An")
    assert leader == [
        "14269",
        "Xã Hải Đông",
        "Tổ CNS thôn Đông",
        "Thôn Đông",
        "Nguyễn Văn An",
        "Male",
        "1990",
        "0912345678",
        "Leader",
        "Yes",
        "Youth union",
        "Yes",
        "02/05/2023",
        "01/03/2023",
        "",
    ]


@pytest.mark.django_db
def test_cells_that_start_a_formula_are_neutralised(client, official, roster):
    client.force_login(official)
    csv_rows = _csv_rows(_get(client, "member_export", "csv"))
    assert "'=cmd|' /C calc'!A0" in [row[4] for row in csv_rows]
    assert "'+Tổ hai" in [row[2] for row in csv_rows]

    xlsx = _get(client, "member_export", "xlsx")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    cells = [row[4] for row in sheet.iter_rows(min_row=2)]
    cell = next(c for c in cells if "cmd" in str(c.value))
    assert cell.value == "'=cmd|' /C calc'!A0"
    assert cell.data_type == "s"  # text, not a formula

    team_rows = _csv_rows(_get(client, "team_export", "csv"))
    assert "'+Tổ hai" in [row[2] for row in team_rows]


@pytest.mark.django_db
def test_member_xlsx_holds_only_the_scope_with_real_dates(client, official, roster):
    client.force_login(official)
    response = _get(client, "member_export", "xlsx", EVERY_MEMBER)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = _xlsx_rows(response)
    names = [row[4] for row in rows[1:]]
    assert "Hoàng Thị Xa" not in names
    assert len(names) == 5
    leader = next(row for row in rows if row[4] == "Nguyễn Văn An")
    assert leader[0] == 14269
    assert leader[7] == "0912345678"  # text: the leading zero stays
    assert leader[13].date() == dt.date(2023, 3, 1)  # a date cell, not text


@pytest.mark.django_db
def test_team_export_lists_the_scopes_teams_with_their_leader(client, official, roster):
    client.force_login(official)
    rows = _csv_rows(_get(client, "team_export", "csv"))
    assert [row[2] for row in rows[1:]] == ["'+Tổ hai", "Tổ CNS thôn Đông"]
    by_name = {row[2]: row for row in rows[1:]}
    # Three active members (the one who left is not counted), the leader and her phone.
    assert by_name["Tổ CNS thôn Đông"][6:] == ["3", "Nguyễn Văn An", "0912345678"]
    xlsx_rows = _xlsx_rows(_get(client, "team_export", "xlsx"))
    assert len(xlsx_rows) == 3
    assert "Tổ phường" not in [row[2] for row in xlsx_rows]


@pytest.mark.django_db
def test_provincial_staff_export_the_whole_province(client, hai_dong, roster):
    client.force_login(province_staff(hai_dong.district.province))
    rows = _csv_rows(_get(client, "member_export", "csv"))
    assert "Hoàng Thị Xa" in [row[4] for row in rows]


@pytest.mark.django_db
def test_a_team_leader_exports_only_their_team(client, official, roster):
    leader = Member.objects.get(phone="0912345678")
    user, _password = member_login_create(by=official, member=leader)
    client.force_login(user)
    rows = _csv_rows(_get(client, "member_export", "csv"))
    assert {row[2] for row in rows[1:]} == {"Tổ CNS thôn Đông"}
    team_rows = _csv_rows(_get(client, "team_export", "csv"))
    assert [row[2] for row in team_rows[1:]] == ["Tổ CNS thôn Đông"]


@pytest.mark.django_db
def test_exports_need_a_login_and_the_view_permission(client, roster):
    response = _get(client, "member_export", "csv")
    assert response.status_code == 302
    client.force_login(UserFactory())  # no role, no scope
    assert _get(client, "member_export", "csv").status_code == 403
    assert _get(client, "team_export", "xlsx").status_code == 403


@pytest.mark.django_db
def test_only_csv_and_xlsx_are_offered(client, official):
    client.force_login(official)
    assert client.get("/members/export.pdf").status_code == 404


@pytest.mark.django_db
def test_the_member_export_makes_the_same_number_of_queries_whatever_the_rows(
    client, official, hai_dong
):
    client.force_login(official)
    team = TeamFactory(commune=hai_dong)
    MemberFactory(team=team)
    _csv_rows(_get(client, "member_export", "csv"))  # warm the demo-ribbon cache

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            rows = _csv_rows(_get(client, "member_export", "csv"))
        return len(context.captured_queries), len(rows)

    few, few_rows = queries()
    for _ in range(3):
        other = TeamFactory(commune=hai_dong, hamlet=HamletFactory(commune=hai_dong))
        MemberFactory.create_batch(10, team=other)
    many, many_rows = queries()
    assert many_rows == few_rows + 30
    assert many == few


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_member_export_reimports_without_changes(
    client, official, roster, fmt, language, django_capture_on_commit_callbacks
):
    client.force_login(official)
    response = client.get(
        reverse("outreach:member_export", kwargs={"fmt": fmt}),
        EVERY_MEMBER,
        HTTP_ACCEPT_LANGUAGE=language,
    )
    content = b"".join(response.streaming_content) if fmt == "csv" else response.content

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("outreach:member_import_new"),
            {"file": SimpleUploadedFile(f"export.{fmt}", content)},
            HTTP_ACCEPT_LANGUAGE=language,
        )
    member_import = MemberImport.objects.get()
    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    counts = member_import.result["counts"]
    assert counts["teams_create"] == counts["teams_update"] == 0
    assert counts["members_create"] == counts["members_update"] == 0
    assert counts["unchanged"] == 4
    assert counts["skipped"] == 1  # the member who left


@pytest.mark.django_db
def test_a_team_export_reimports_without_changes(
    client, official, roster, django_capture_on_commit_callbacks
):
    client.force_login(official)
    content = b"".join(_get(client, "team_export", "csv").streaming_content)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("outreach:member_import_new"),
            {"file": SimpleUploadedFile("teams.csv", content)},
        )
    member_import = MemberImport.objects.get()
    assert member_import.status == MemberImport.Status.CHECKED, member_import.result
    counts = member_import.result["counts"]
    assert counts["rows"] == 2
    assert counts["teams_create"] == counts["teams_update"] == counts["members_create"] == 0


# --- Visits -------------------------------------------------------------------------------


def _visit(team, hamlet, address, day, services=("portal_account",), by=None):
    from outreach.models import Service
    from outreach.services import visit_record
    from outreach.services.visits import VisitData

    return visit_record(
        by=by or UserFactory(is_superuser=True),
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label=address,
        data=VisitData(
            visited_on=day,
            members=list(team.members.filter(is_active=True)),
            services=list(Service.objects.filter(code__in=services)),
            residents_helped=2,
        ),
    )[0]


@pytest.fixture
def visits(roster, tran_te_xuong):
    hamlet = roster.hamlet
    _visit(roster, hamlet, "Số 1, xóm 2", dt.date(2026, 3, 2), ("portal_account", "ecommerce"))
    _visit(roster, hamlet, "=HYPERLINK(1)", dt.date(2026, 3, 3), ())
    far = TeamFactory(commune=tran_te_xuong, name="Tổ xa")
    MemberFactory(team=far, full_name="Đỗ Văn Xa", phone="0917000555")
    _visit(far, HamletFactory(commune=tran_te_xuong), "Số 9, ngõ 1", dt.date(2026, 3, 2))
    return roster


def _visit_export(client, query: str = ""):
    url = reverse("outreach:visit_export", kwargs={"fmt": "csv"})
    return client.get(f"{url}{query}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_the_visit_csv_holds_the_scopes_visits_with_services_and_no_phone(client, official, visits):
    client.force_login(official)
    rows = _csv_rows(_visit_export(client))
    assert rows[0][:3] == ["Date", "Commune code", "Commune"]
    body = rows[1:]
    assert [(r[0], r[1], r[5]) for r in body] == [
        ("02/03/2026", "14269", "Số 1, xóm 2"),
        ("03/03/2026", "14269", "'=HYPERLINK(1)"),
    ]
    assert body[0][-1] == "Public-service portal account; E-commerce"
    assert body[0][-2] == str(Member.objects.filter(team=visits, is_active=True).count())
    assert body[1][-1] == ""
    assert not any("0912345678" in cell for row in rows for cell in row)


@pytest.mark.django_db
def test_the_visit_csv_follows_the_lists_filters_and_the_province_sees_all(
    client, official, visits, hai_dong
):
    client.force_login(official)
    rows = _csv_rows(_visit_export(client, "?start=03/03/2026"))
    assert [r[0] for r in rows[1:]] == ["03/03/2026"]
    client.force_login(province_staff(hai_dong.district.province))
    assert len(_csv_rows(_visit_export(client))) == 4


@pytest.mark.django_db
def test_the_visit_export_needs_the_view_permission(client, visits):
    assert _visit_export(client).status_code == 302
    client.force_login(UserFactory())
    assert _visit_export(client).status_code == 403


@pytest.mark.django_db
def test_the_visit_export_reads_in_chunks_with_queries_that_do_not_grow_per_row(
    client, official, visits, monkeypatch
):
    from outreach import exports

    client.force_login(official)
    _csv_rows(_visit_export(client))
    monkeypatch.setattr(exports, "VISIT_CHUNK", 1)
    with CaptureQueriesContext(connection) as one_per_chunk:
        rows = _csv_rows(_visit_export(client))
    monkeypatch.setattr(exports, "VISIT_CHUNK", 5_000)
    with CaptureQueriesContext(connection) as one_chunk:
        assert _csv_rows(_visit_export(client)) == rows
    # Each chunk: its visits, households, services and members (the teams are read once
    # each, and both visits are one team's); and one empty read at the end.
    assert len(one_per_chunk.captured_queries) - len(one_chunk.captured_queries) == 4
