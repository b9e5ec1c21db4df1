"""Who reads whose name on a session's attendance list.

At or above the level that organises a session, a user reads the whole list. Below it,
a commune official or a district officer reads by name only the attendees from their own
commune or district (a team member through their team, anyone else through the place
their agency names), and the others as counts: on the session's page, in both exports
and in the session's history.

The world: Huyện Hải Hậu (district A) with Xã Hải Đông and a neighbouring township,
Thành phố Nam Định (district B) with Phường Trần Tế Xương; a provincial session, a
district session of A and a commune session of Hải Đông, each with the same six
attendees from those places, A's district office and a provincial department.
"""

import datetime as dt
import io

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import commune_official, district_staff, province_staff
from communes.models import Commune, Province
from outreach.tests.factories import MemberFactory, TeamFactory
from trainings.models import Attendance, Audience, Level, Topic, TrainingSession
from trainings.services import attendance_add, attendance_remove, session_create

DAY = dt.date(2026, 6, 10)
HAI_DONG, TRAN_TE_XUONG = 14269, 13636

# Key: (full name, phone); each attendee's agency is set in the fixture.
PEOPLE = {
    "member_hd": ("Phạm Thị Mai", "0911000001"),
    "agency_hd": ("Nguyễn Văn An", "0911000002"),
    "neighbour": ("Lê Thị Bích", "0911000003"),
    "office_a": ("Trần Văn Cường", "0911000004"),
    "ttx": ("Hoàng Văn Dũng", "0911000005"),
    "department": ("Vũ Thị Hoa", "0911000006"),
}
EVERYONE = set(PEOPLE)
FROM_A = {"member_hd", "agency_hd", "neighbour", "office_a"}
FROM_HAI_DONG = {"member_hd", "agency_hd"}
AGENCIES = {
    # Punctuation and a district named after the commune: still Hải Đông's.
    "agency_hd": "UBND xã Hải Đông, huyện Hải Hậu",
    "office_a": "Phòng Văn hóa - Thông tin huyện Hải Hậu",
    "ttx": "UBND phường Trần Tế Xương",
    # Names no commune or district: a provincial department.
    "department": "Sở Tư pháp tỉnh Nam Định",
}

# What each role reads by name on each level's session; None: the session is not theirs.
MATRIX = {
    "provincial": {Level.PROVINCE: EVERYONE, Level.DISTRICT: EVERYONE, Level.COMMUNE: EVERYONE},
    "district_a": {Level.PROVINCE: FROM_A, Level.DISTRICT: EVERYONE, Level.COMMUNE: EVERYONE},
    "district_b": {Level.PROVINCE: {"ttx"}, Level.DISTRICT: None, Level.COMMUNE: None},
    "official_hd": {
        Level.PROVINCE: FROM_HAI_DONG,
        Level.DISTRICT: FROM_HAI_DONG,
        Level.COMMUNE: EVERYONE,
    },
    "official_neighbour": {
        Level.PROVINCE: {"neighbour"},
        Level.DISTRICT: {"neighbour"},
        Level.COMMUNE: None,
    },
    "official_ttx": {Level.PROVINCE: {"ttx"}, Level.DISTRICT: None, Level.COMMUNE: None},
}
CASES = [(role, level) for role, levels in MATRIX.items() for level in levels]


@pytest.fixture(autouse=True)
def _english(settings):
    # The counts are checked in their English source text.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.select_related("district").get(code=HAI_DONG)


@pytest.fixture
def neighbour(hai_dong):
    return (
        Commune.objects.filter(district=hai_dong.district)
        .exclude(pk=hai_dong.pk)
        .order_by("code")
        .first()
    )


@pytest.fixture
def tran_te_xuong(divisions):
    return Commune.objects.select_related("district").get(code=TRAN_TE_XUONG)


@pytest.fixture
def users(hai_dong, neighbour, tran_te_xuong):
    # Named, so that no made-up name of theirs can pass for an attendee's on a page.
    return {
        "provincial": province_staff(Province.objects.get(), full_name="Cán bộ tỉnh"),
        "district_a": district_staff(hai_dong.district, full_name="Cán bộ huyện A"),
        "district_b": district_staff(tran_te_xuong.district, full_name="Cán bộ huyện B"),
        "official_hd": commune_official(hai_dong, full_name="Cán bộ xã Hải Đông"),
        "official_neighbour": commune_official(neighbour, full_name="Cán bộ thị trấn"),
        "official_ttx": commune_official(tran_te_xuong, full_name="Cán bộ phường"),
    }


def _session(by, level, *, district=None, commune=None) -> TrainingSession:
    return session_create(
        by=by,
        title=f"Hội nghị chuyển đổi số ({level})",
        format=TrainingSession.Format.THEMATIC_CONFERENCE,
        audience=Audience.KEY_OFFICIALS,
        level=level,
        district=district,
        commune=commune,
        starts_on=DAY,
        ends_on=DAY,
        topics=[Topic.objects.order_by("pk").first()],
        status=TrainingSession.Status.HELD,
    )


def _attend(by, session, neighbour, member) -> None:
    agencies = {**AGENCIES, "neighbour": f"UBND {neighbour.name}"}
    for key, (full_name, phone) in PEOPLE.items():
        attendance_add(
            by=by,
            session=session,
            member=member if key == "member_hd" else None,
            full_name=full_name,
            agency=agencies.get(key, ""),
            position="Công chức văn hóa - xã hội",
            phone=phone,
        )


@pytest.fixture
def sessions(users, hai_dong, neighbour):
    # A team member of Hải Đông; their agency is their team's name, which names no place.
    member = MemberFactory(team=TeamFactory(commune=hai_dong, name="Tổ công nghệ số thôn Đông"))
    keepers = {
        Level.PROVINCE: (users["provincial"], {}),
        Level.DISTRICT: (users["district_a"], {"district": hai_dong.district}),
        Level.COMMUNE: (users["official_hd"], {"commune": hai_dong}),
    }
    found = {}
    for level, (keeper, place) in keepers.items():
        session = _session(keeper, level, **place)
        _attend(keeper, session, neighbour, member)
        found[level] = session
    return found


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _export(client, session, fmt: str):
    return client.get(reverse("trainings:attendance_export", kwargs={"pk": session.pk, "fmt": fmt}))


def _csv(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def _assert_names(text: str, named: set[str]) -> None:
    for key, (full_name, phone) in PEOPLE.items():
        if key in named:
            assert full_name in text and phone in text, key
        else:
            assert full_name not in text and phone not in text, key
            if key in AGENCIES:
                assert AGENCIES[key] not in text, key


# --- The matrix ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "level"), CASES)
def test_each_role_reads_by_name_only_the_attendees_the_level_allows(users, sessions, role, level):
    named = MATRIX[role][level]
    client = _client(users[role])
    session = sessions[level]

    page = client.get(reverse("trainings:session_detail", args=[session.pk]))
    csv_response = _export(client, session, "csv")

    if named is None:
        assert page.status_code == 404
        assert csv_response.status_code == 404
        return
    assert page.status_code == 200
    html = page.content.decode()
    text = _csv(csv_response)
    _assert_names(html, named)
    _assert_names(text, named)
    others = len(EVERYONE - named)
    if others:
        assert f"{others} attendees from elsewhere are counted here, not named" in html
        assert f"{others} attendees from elsewhere are counted, not named." in text
    else:
        assert "from elsewhere" not in html and "from elsewhere" not in text
    # Counted, the session still has everyone.
    assert "6 attendees" in html


@pytest.mark.django_db
def test_the_excel_export_below_the_level_holds_only_the_own_communes_people(users, sessions):
    response = _export(_client(users["official_hd"]), sessions[Level.PROVINCE], "xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in rows] == [
        "Nguyễn Văn An",
        "Phạm Thị Mai",
        "4 attendees from elsewhere are counted, not named.",
    ]
    assert rows[1][5:] == ("Yes", "Tổ công nghệ số thôn Đông")


@pytest.mark.django_db
def test_the_others_are_counted_by_district_in_the_official_order(users, sessions):
    session = sessions[Level.PROVINCE]
    url = reverse("trainings:session_detail", args=[session.pk])

    for_district = _client(users["district_a"]).get(url)
    for_commune = _client(users["official_hd"]).get(url)

    assert for_district.context["readable"].others_by_district == [
        ("Thành phố Nam Định", 1),
        (None, 1),
    ]
    assert for_commune.context["readable"].others_by_district == [
        ("Thành phố Nam Định", 1),
        ("Huyện Hải Hậu", 2),
        (None, 1),
    ]
    html = for_commune.content.decode()
    assert "Provincial agencies, or no place given" in html
    assert "the list names only the attendees from Xã Hải Đông" in html


@pytest.mark.django_db
def test_the_counts_read_in_vietnamese_too(users, sessions):
    client = _client(users["official_hd"])
    url = reverse("trainings:session_detail", args=[sessions[Level.PROVINCE].pk])

    html = client.get(url, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    export = client.get(
        reverse(
            "trainings:attendance_export", kwargs={"pk": sessions[Level.PROVINCE].pk, "fmt": "csv"}
        ),
        HTTP_ACCEPT_LANGUAGE="vi",
    )

    assert "danh sách chỉ hiển thị tên người tham dự thuộc Xã Hải Đông" in html
    assert "4 người tham dự thuộc đơn vị khác chỉ được thống kê số lượng" in html
    assert "Cơ quan cấp tỉnh hoặc không rõ địa bàn" in html
    assert "4 người tham dự thuộc đơn vị khác" in _csv(export)


@pytest.mark.django_db
def test_a_commune_with_no_one_on_the_list_is_told_so_and_offered_no_export(
    users, sessions, divisions
):
    far = Commune.objects.get(code=14218)  # Thị trấn Cồn, Hải Hậu: no one from there
    client = _client(commune_official(far))

    page = client.get(reverse("trainings:session_detail", args=[sessions[Level.PROVINCE].pk]))

    html = page.content.decode()
    assert f"No one from {far.name} is on the list." in html
    assert "6 attendees from elsewhere are counted here, not named" in html
    assert "attendance.csv" not in html
    _assert_names(html, set())


@pytest.mark.django_db
def test_a_commune_typed_without_tone_marks_or_sharing_a_folded_name_is_told_apart(
    divisions,
):
    province = province_staff(Province.objects.get(), full_name="Cán bộ tỉnh")
    hung, hung_marked = (
        Commune.objects.get(name="Xã Trực Hùng"),
        Commune.objects.get(name="Xã Trực Hưng"),
    )
    session = _session(province, Level.PROVINCE)
    attendance_add(
        by=province, session=session, full_name="Đỗ Văn Hùng", agency="UBND xã Trực Hùng"
    )
    attendance_add(
        by=province, session=session, full_name="Đỗ Thị Hưng", agency="UBND xã Trực Hưng"
    )
    attendance_add(
        by=province, session=session, full_name="Đinh Văn Hải", agency="ubnd xa hai dong"
    )
    url = reverse("trainings:session_detail", args=[session.pk])

    def names(commune) -> set[str]:
        page = _client(commune_official(commune)).get(url)
        return {a.full_name for a in page.context["attendances"]}

    assert names(hung) == {"Đỗ Văn Hùng"}
    assert names(hung_marked) == {"Đỗ Thị Hưng"}
    assert names(Commune.objects.get(code=HAI_DONG)) == {"Đinh Văn Hải"}


# --- History -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_history_below_the_level_does_not_say_whom_other_entries_are_about(users, sessions):
    session = sessions[Level.PROVINCE]
    removed = Attendance.objects.get(session=session, full_name="Hoàng Văn Dũng")
    attendance_remove(by=users["provincial"], attendance=removed)
    url = reverse("trainings:session_history", args=[session.pk])

    own = _client(users["official_hd"]).get(url).content.decode()
    whole = _client(users["provincial"]).get(url).content.decode()

    _assert_names(own, FROM_HAI_DONG)
    assert "An attendee from elsewhere" in own
    _assert_names(whole, EVERYONE)
    assert "An attendee from elsewhere" not in whole


# --- Queries -----------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_page_below_the_level_makes_the_same_queries_for_3_or_30_attendees(
    users, hai_dong, tran_te_xuong
):
    provincial = users["provincial"]
    session = _session(provincial, Level.PROVINCE)
    client = _client(users["official_hd"])
    url = reverse("trainings:session_detail", args=[session.pk])
    team = TeamFactory(commune=hai_dong)

    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            member = MemberFactory(team=team) if n % 3 == 0 else None
            place = hai_dong if n % 2 else tran_te_xuong
            attendance_add(
                by=provincial,
                session=session,
                member=member,
                full_name=f"Người tham dự {n}",
                agency=f"UBND {place.name}",
            )

    add(3, 0)
    _queries(client, url)  # the first request also fills per-process caches
    few = _queries(client, url)
    add(27, 3)
    many = _queries(client, url)

    assert few == many
