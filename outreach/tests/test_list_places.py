"""The lists of the province's, districts' and communes' staff: where each row is, how
many there are, and the same rows in a file.

Three communes of two districts: "ours" (Xã Hải Đông) and a neighbour in Huyện Hải Hậu,
and "theirs" (Phường Trần Tế Xương) in Thành phố Nam Định. Each has a hamlet named
"Thôn 1", as hundreds of hamlets of the province are, a team with its leader, a visited
household, a training session and a learner. The visit and household lists offer a
district and a commune to those whose scope spans them, and a hamlet once a commune is
known; every row says its commune; every list says how many rows it holds and downloads
exactly those rows, as CSV and, while they fit in a sheet, as XLSX.
"""

import csv
import datetime as dt
import io
import re
import uuid

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry
from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, District, Province
from core import exports as core_exports
from outreach.models import Member, Service
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, HouseholdFactory, MemberFactory, TeamFactory
from trainings.models import Audience, Level, TrainingSession
from trainings.services import course_enrolment_save, session_create

HAI_DONG, TRAN_TE_XUONG = 14269, 13636
DAY = dt.date(2026, 11, 2)
VISITS = reverse("outreach:visit_list")
HOUSEHOLDS = reverse("outreach:household_list")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _side(commune: Commune, tag: str, admin) -> dict:
    hamlet = HamletFactory(commune=commune, name="Thôn 1")
    team = TeamFactory(commune=commune, hamlet=hamlet, name=f"Tổ {tag}")
    leader_member = MemberFactory(team=team, role=Member.Role.LEADER, full_name=f"Tổ trưởng {tag}")
    leader, _password = member_login_create(by=admin, member=leader_member)
    visit, _created = visit_record(
        by=leader,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label=f"Số 1 nhà {tag}",
        data=VisitData(
            visited_on=DAY,
            members=[leader_member],
            services=list(Service.objects.filter(code="ecommerce")),
            residents_helped=1,
        ),
    )
    session_create(
        by=admin,
        title=f"Tập huấn {tag}",
        format=TrainingSession.Format.COMMUNITY_TRAINING,
        audience=Audience.RESIDENTS,
        level=Level.COMMUNE,
        commune=commune,
        starts_on=DAY,
        ends_on=DAY,
    )
    course_enrolment_save(
        by=admin, course="Chuyển đổi số cơ bản", full_name=f"Học viên {tag}", commune=commune
    )
    return {"commune": commune, "hamlet": hamlet, "team": team, "leader": leader, "visit": visit}


@pytest.fixture
def world(divisions):
    admin = UserFactory(is_superuser=True)
    ours = Commune.objects.select_related("district").get(code=HAI_DONG)
    neighbour = (
        Commune.objects.filter(district=ours.district).exclude(pk=ours.pk).order_by("code").first()
    )
    theirs = Commune.objects.select_related("district").get(code=TRAN_TE_XUONG)
    sides = {
        "ours": _side(ours, "Ours", admin),
        "neighbour": _side(neighbour, "Neighbour", admin),
        "theirs": _side(theirs, "Theirs", admin),
    }
    # A second hamlet of ours, with a household visited on another day.
    west = HamletFactory(commune=ours, name="Xóm Tây")
    visit_record(
        by=sides["ours"]["leader"],
        team=sides["ours"]["team"],
        submission_id=uuid.uuid4(),
        hamlet=west,
        address_label="Số 2 nhà Ours",
        data=VisitData(
            visited_on=DAY - dt.timedelta(days=1),
            members=list(sides["ours"]["team"].members.all()),
            residents_helped=1,
        ),
    )
    sides["ours"]["west"] = west
    return sides


ROLES = {
    "provincial staff": lambda w: province_staff(Province.objects.get()),
    "district staff": lambda w: district_staff(w["ours"]["commune"].district),
    "district staff of another district": lambda w: district_staff(w["theirs"]["commune"].district),
    "commune official": lambda w: commune_official(w["ours"]["commune"]),
    "team leader": lambda w: w["ours"]["leader"],
}


def _login(client, world, role: str):
    user = ROLES[role](world)
    client.force_login(user)
    return user


def _rows(response) -> list:
    return list(response.context["page"].object_list)


def _addresses(response) -> list[str]:
    rows = _rows(response)
    return sorted(
        row.household.address_label if hasattr(row, "household") else row.address_label
        for row in rows
    )


def _values(field) -> set:
    """The objects a choice field offers (its empty choice left out)."""
    return {value.instance for value, _label in field.choices if value}


def _labels(field) -> list[str]:
    return [label for value, label in field.choices if value]


# --- The place filters follow the scope ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_provincial_staff_choose_a_district_then_a_commune_named_with_its_district(
    client, world, url
):
    ours = world["ours"]["commune"]
    _login(client, world, "provincial staff")

    form = client.get(url).context["form"]
    assert _values(form.fields["district"]) == set(District.objects.all())
    assert len(_values(form.fields["commune"])) == Commune.objects.count() == 226
    # Among the province's communes, each says where it is.
    assert f"{ours.name} — {ours.district.name}" in _labels(form.fields["commune"])
    assert "hamlet" not in form.fields  # a thousand "Thôn 1"s, none of them said where

    narrowed = client.get(url, {"district": ours.district_id})
    communes = narrowed.context["form"].fields["commune"]
    assert _values(communes) == set(Commune.objects.filter(district=ours.district_id))
    assert ours.name in _labels(communes)  # all of one district: no need to say which
    assert _addresses(narrowed) == ["Số 1 nhà Neighbour", "Số 1 nhà Ours", "Số 2 nhà Ours"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_district_staff_choose_among_their_districts_communes_only(client, world, url):
    theirs = world["theirs"]["commune"]
    _login(client, world, "district staff of another district")

    form = client.get(url).context["form"]
    assert "district" not in form.fields  # their scope is one district
    assert _values(form.fields["commune"]) == set(Commune.objects.filter(district=theirs.district))
    assert theirs.name in _labels(form.fields["commune"])  # no district to name
    assert "hamlet" not in form.fields
    assert _addresses(client.get(url)) == ["Số 1 nhà Theirs"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["commune official", "team leader"])
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_a_commune_official_and_a_leader_choose_among_their_communes_hamlets(
    client, world, role, url
):
    ours = world["ours"]
    _login(client, world, role)

    form = client.get(url).context["form"]
    assert "district" not in form.fields and "commune" not in form.fields
    assert _values(form.fields["hamlet"]) == {ours["hamlet"], ours["west"]}
    assert _addresses(client.get(url, {"hamlet": ours["west"].pk})) == ["Số 2 nhà Ours"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_the_hamlet_filter_comes_with_a_commune_and_offers_its_hamlets_only(client, world, url):
    ours = world["ours"]
    for role in ("provincial staff", "district staff"):
        _login(client, world, role)
        response = client.get(url, {"commune": ours["commune"].pk})
        assert _values(response.context["form"].fields["hamlet"]) == {ours["hamlet"], ours["west"]}
        assert _addresses(response) == ["Số 1 nhà Ours", "Số 2 nhà Ours"]
        chosen = client.get(url, {"commune": ours["commune"].pk, "hamlet": ours["hamlet"].pk})
        assert _addresses(chosen) == ["Số 1 nhà Ours"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_a_hamlet_of_another_commune_is_an_error_beside_it_and_not_applied(client, world, url):
    ours, theirs = world["ours"], world["theirs"]
    _login(client, world, "provincial staff")

    response = client.get(url, {"commune": ours["commune"].pk, "hamlet": theirs["hamlet"].pk})

    assert response.status_code == 200
    assert response.context["form"].errors["hamlet"] == [
        "This hamlet is not in the chosen commune."
    ]
    html = response.content.decode()
    assert 'id="id_hamlet_error"' in html
    # The commune still applies; the other commune's hamlet does not.
    assert _addresses(response) == ["Số 1 nhà Ours", "Số 2 nhà Ours"]

    _login(client, world, "commune official")
    response = client.get(url, {"hamlet": theirs["hamlet"].pk})
    assert response.context["form"].errors["hamlet"] == ["This hamlet is not in your commune."]
    assert _addresses(response) == ["Số 1 nhà Ours", "Số 2 nhà Ours"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_a_commune_of_another_district_than_the_chosen_one_is_an_error(client, world, url):
    ours, theirs = world["ours"], world["theirs"]
    _login(client, world, "provincial staff")

    response = client.get(
        url, {"district": ours["commune"].district_id, "commune": theirs["commune"].pk}
    )

    errors = response.context["form"].errors
    assert errors["commune"] == ["This commune is not in the chosen district."]
    assert "Số 1 nhà Theirs" not in _addresses(response)
    assert _addresses(response) == ["Số 1 nhà Neighbour", "Số 1 nhà Ours", "Số 2 nhà Ours"]


# Who chooses our commune, and what they get: provincial and district staff their list
# narrowed; staff of another district an error and still none of our rows; a commune
# official and a leader, who have no commune to choose, their own rows.
COMMUNE_CHOSEN = {
    "provincial staff": (["Số 1 nhà Ours", "Số 2 nhà Ours"], False),
    "district staff": (["Số 1 nhà Ours", "Số 2 nhà Ours"], False),
    "district staff of another district": (["Số 1 nhà Theirs"], True),
    "commune official": (["Số 1 nhà Ours", "Số 2 nhà Ours"], False),
    "team leader": (["Số 1 nhà Ours", "Số 2 nhà Ours"], False),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_choosing_a_commune_by_role(client, world, role, url):
    _login(client, world, role)
    response = client.get(url, {"commune": world["ours"]["commune"].pk})
    rows, refused = COMMUNE_CHOSEN[role]
    assert response.status_code == 200
    assert _addresses(response) == rows
    assert ("commune" in response.context["form"].errors) == refused


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_every_row_says_its_commune(client, world, role, url):
    _login(client, world, role)
    response = client.get(url)
    html = response.content.decode()
    rows = re.findall(r"<tbody>(.*?)</tbody>", html, re.S)[0].split("</tr>")[:-1]
    assert len(rows) == response.context["page"].paginator.count > 0
    communes = {side["commune"].name for side in world.values()}
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert len(communes & set(cells)) == 1, row


@pytest.mark.django_db
def test_the_place_filters_send_themselves_once_chosen_and_clear_what_they_narrow(client, world):
    # static/js/place-filters.js reads these; without it the Filter button does the same.
    _login(client, world, "provincial staff")
    html = client.get(VISITS, {"commune": world["ours"]["commune"].pk}).content.decode()
    assert '<select name="district" data-clears="commune hamlet member"' in html
    assert '<select name="commune" data-clears="hamlet member"' in html
    assert "js/place-filters.js" in html


# --- Counts -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_visit_and_household_lists_say_how_many_rows_the_filters_keep(client, world):
    _login(client, world, "provincial staff")
    district = world["ours"]["commune"].district_id
    assert "<p>4 visits</p>" in client.get(VISITS).content.decode()
    assert "<p>3 visits</p>" in client.get(VISITS, {"district": district}).content.decode()
    assert "<p>4 households</p>" in client.get(HOUSEHOLDS).content.decode()
    one = client.get(HOUSEHOLDS, {"q": "Số 2"}).content.decode()
    assert "<p>1 household</p>" in one


def _queries(client, url, params) -> int:
    client.get(url, params)  # the demo ribbon's and the permissions' caches filled
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("url", [VISITS, HOUSEHOLDS])
def test_the_lists_queries_do_not_grow_with_their_rows(client, world, url):
    """The count is the paginator's, and each row's commune, hamlet, visits and members
    come with the page's queries: 5 or 40 rows cost the same."""
    ours = world["ours"]
    cases = [
        ("provincial staff", {}),
        ("provincial staff", {"district": ours["commune"].district_id}),
        ("provincial staff", {"commune": ours["commune"].pk, "hamlet": ours["hamlet"].pk}),
        ("district staff", {"commune": ours["commune"].pk}),
        ("commune official", {"hamlet": ours["hamlet"].pk}),
        ("team leader", {}),
    ]
    users = {role: ROLES[role](world) for role, _params in cases}

    def measure() -> list[int]:
        counts = []
        for role, params in cases:
            client.force_login(users[role])
            counts.append(_queries(client, url, params))
        return counts

    few = measure()
    for number in range(35):
        household = HouseholdFactory(hamlet=ours["hamlet"], address_label=f"Số {number} ngõ 9")
        visit_record(
            by=ours["leader"],
            team=ours["team"],
            submission_id=uuid.uuid4(),
            hamlet=ours["hamlet"],
            address_label=household.address_label,
            data=VisitData(visited_on=DAY, members=list(ours["team"].members.all())),
        )
    assert measure() == few


# --- Exports: the page's rows, in a file --------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _xlsx(response) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


# list url, export route, the context's page, what names a row on the page and in the
# file (its column), and a filter that narrows the list.
LISTS = {
    "visits": (
        "outreach:visit_list",
        "outreach:visit_export",
        "page",
        lambda visit: visit.household.address_label,
        5,
        {"start": DAY.isoformat()},
    ),
    "households": (
        "outreach:household_list",
        "outreach:household_export",
        "page",
        lambda household: household.address_label,
        3,
        {"q": "Số 1"},
    ),
    "teams": (
        "outreach:team_list",
        "outreach:team_export",
        "page_obj",
        lambda team: team.name,
        2,
        {"q": "Ours"},
    ),
    "members": (
        "outreach:member_list",
        "outreach:member_export",
        "page_obj",
        lambda member: member.full_name,
        4,
        {"role": Member.Role.LEADER},
    ),
    "hamlets": (
        "outreach:hamlet_list",
        "outreach:hamlet_export",
        "page_obj",
        lambda hamlet: f"{hamlet.commune.name}/{hamlet.name}",
        (1, 2),
        {"q": "Thôn"},
    ),
    "training sessions": (
        "trainings:session_list",
        "trainings:session_export",
        "page",
        lambda session: session.title,
        3,
        {"status": TrainingSession.Status.PLANNED},
    ),
    "courses": (
        "trainings:course_list",
        "trainings:course_export",
        "page",
        lambda enrolment: enrolment.full_name,
        0,
        {"q": "Ours"},
    ),
}


def _named(row: list, column) -> str:
    if isinstance(column, tuple):
        return "/".join(row[c] for c in column)
    return row[column]


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("name", list(LISTS))
def test_every_list_exports_the_rows_it_shows_and_counts_them(client, world, role, name):
    list_route, export_route, page_key, on_page, column, narrowing = LISTS[name]
    _login(client, world, role)
    for query in ({}, narrowing):
        response = client.get(reverse(list_route), query)
        if response.status_code == 403:  # leaders read no trainings
            assert role == "team leader" and list_route.startswith("trainings:")
            return
        page = response.context[page_key]
        shown = sorted(on_page(row) for row in page.object_list)
        assert len(shown) == page.paginator.count  # one page: every row is on it
        assert re.search(rf">{len(shown)} \w", response.content.decode()), "no count shown"
        for fmt, read in (("csv", _csv), ("xlsx", _xlsx)):
            url = reverse(export_route, kwargs={"fmt": fmt})
            assert f'href="{url}' in response.content.decode()
            exported = read(client.get(url, query))
            assert sorted(_named(row, column) for row in exported[1:]) == shown, (fmt, query)


@pytest.mark.django_db
def test_the_export_links_keep_the_filters_but_not_the_page(client, world):
    _login(client, world, "provincial staff")
    commune = world["ours"]["commune"].pk
    html = client.get(VISITS, {"commune": commune, "page": "1"}).content.decode()
    csv_url = reverse("outreach:visit_export", kwargs={"fmt": "csv"})
    xlsx_url = reverse("outreach:visit_export", kwargs={"fmt": "xlsx"})
    assert f'href="{csv_url}?commune={commune}"' in html
    assert f'href="{xlsx_url}?commune={commune}"' in html


@pytest.mark.django_db
def test_the_household_export_names_no_head_of_household(client, world):
    _login(client, world, "commune official")
    rows = _csv(client.get(reverse("outreach:household_export", kwargs={"fmt": "csv"}), {}))
    assert rows[0] == ["Commune code", "Commune", "Hamlet", "Address", "Visits", "Last visit"]
    assert ["14269", "Xã Hải Đông", "Thôn 1", "Số 1 nhà Ours", "1", "02/11/2026"] in rows


# --- More rows than a sheet holds ---------------------------------------------------------


@pytest.mark.django_db
def test_a_list_longer_than_a_sheet_offers_csv_and_says_why(client, world, monkeypatch):
    _login(client, world, "provincial staff")
    csv_url = reverse("outreach:visit_export", kwargs={"fmt": "csv"})
    xlsx_url = reverse("outreach:visit_export", kwargs={"fmt": "xlsx"})
    # 4 visits and the header fill a sheet of 5 rows exactly.
    monkeypatch.setattr(core_exports, "XLSX_MAX_ROWS", 5)
    assert f'href="{xlsx_url}"' in client.get(VISITS).content.decode()
    assert client.get(xlsx_url).status_code == 200

    monkeypatch.setattr(core_exports, "XLSX_MAX_ROWS", 4)
    html = client.get(VISITS).content.decode()
    assert xlsx_url not in html
    assert f'href="{csv_url}"' in html
    assert "No Excel file: these 4 rows are more than the 4 an Excel sheet holds" in html
    # Narrowed to fit, the list offers the sheet again.
    district = world["ours"]["commune"].district_id
    assert xlsx_url in client.get(VISITS, {"district": district}).content.decode()

    # A link kept from a shorter list answers with a page that says why, and the CSV;
    # nothing left the portal, so the audit trail records no export.
    exported = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORTED)
    before = exported.count()
    response = client.get(xlsx_url, {"district": ""})
    assert exported.count() == before
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "This list has 4 rows, more than the 4 rows" in text
    assert f'href="{csv_url}?district="' in text
    assert len(_csv(client.get(csv_url))) == 1 + 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    "list_route, export_route",
    [
        ("outreach:household_list", "outreach:household_export"),
        ("outreach:team_list", "outreach:team_export"),
        ("outreach:member_list", "outreach:member_export"),
        ("outreach:hamlet_list", "outreach:hamlet_export"),
        ("trainings:session_list", "trainings:session_export"),
        ("trainings:course_list", "trainings:course_export"),
    ],
)
def test_every_lists_xlsx_stops_at_a_sheets_limit(
    client, world, monkeypatch, list_route, export_route
):
    _login(client, world, "provincial staff")
    monkeypatch.setattr(core_exports, "XLSX_MAX_ROWS", 1)  # the header alone
    xlsx_url = reverse(export_route, kwargs={"fmt": "xlsx"})
    html = client.get(reverse(list_route)).content.decode()
    assert xlsx_url not in html
    assert "No Excel file" in html
    assert client.get(xlsx_url).status_code == 422
    assert client.get(reverse(export_route, kwargs={"fmt": "csv"})).status_code == 200
