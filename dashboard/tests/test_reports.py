"""The monthly district report: the workbook's figures are the summary rows', and only
the province and the district's own staff may have it."""

import datetime as dt
import io

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import commune_official, district_staff, province_staff
from communes.models import Commune, District, Province
from dashboard import services
from dashboard.models import (
    CommuneDay,
    CommuneDayService,
    Figure,
    TrainingDay,
    TrainingYear,
)
from dashboard.reports import district_month
from dashboard.targets import progress
from outreach.models import Service
from trainings.models import Audience, Level

# A past year, so the report's pace is judged on the month's last day whatever today is.
YEAR, MONTH = 2025, 6


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def hai_hau(divisions):
    return District.objects.get(code=366)


@pytest.fixture
def hai_dong(hai_hau):
    commune = Commune.objects.get(code=14269)
    Commune.objects.filter(pk=commune.pk).update(households=100)
    commune.refresh_from_db()
    return commune


@pytest.fixture
def neighbour(hai_dong):
    return Commune.objects.filter(district=hai_dong.district).exclude(pk=hai_dong.pk).first()


def _day(commune, day, **figures):
    return CommuneDay.objects.create(
        commune=commune, district=commune.district, day=day, computed_at=timezone.now(), **figures
    )


def _service_day(commune, day, code, visits):
    CommuneDayService.objects.create(
        commune=commune,
        district=commune.district,
        day=day,
        service=Service.objects.get(code=code),
        visits=visits,
        computed_at=timezone.now(),
    )


def _training(day, audience, *, level, district=None, commune=None, **figures):
    TrainingDay.objects.create(
        level=level,
        district=district,
        commune=commune,
        day=day,
        audience=audience,
        computed_at=timezone.now(),
        **figures,
    )


@pytest.fixture
def summary_rows(hai_hau, hai_dong, neighbour):
    """June 2025 in Huyện Hải Hậu, with days before, after and elsewhere that must not count
    (or count only cumulatively)."""
    d = dt.date
    _day(hai_dong, d(2024, 12, 20), visits=3, households_first=3, teams_formed=2, members_joined=10)
    _day(
        hai_dong,
        d(2025, 1, 10),
        visits=5,
        households_first=4,
        return_visits=1,
        residents_helped=7,
        teams_formed=3,
        members_joined=20,
        zalo_joined=10,
    )
    _day(
        hai_dong,
        d(2025, 6, 5),
        visits=8,
        households_first=6,
        return_visits=2,
        residents_helped=9,
        teams_formed=1,
        members_joined=5,
        members_left=1,
        zalo_joined=2,
    )
    _day(
        neighbour, d(2025, 6, 20), visits=4, households_first=4, residents_helped=4, teams_formed=1
    )
    _day(hai_dong, d(2025, 7, 1), visits=100, households_first=50)  # after the month
    elsewhere = Commune.objects.get(code=13636)
    _day(elsewhere, d(2025, 6, 10), visits=50, households_first=50)  # another district

    _service_day(hai_dong, d(2025, 6, 5), "online_application", 5)
    _service_day(neighbour, d(2025, 6, 20), "online_application", 2)
    _service_day(hai_dong, d(2025, 2, 3), "mobile_banking", 3)
    _service_day(elsewhere, d(2025, 6, 10), "mobile_banking", 40)

    _training(
        d(2025, 6, 12),
        Audience.RESIDENTS,
        level=Level.COMMUNE,
        district=hai_hau,
        commune=hai_dong,
        sessions_held=1,
        attendees=30,
    )
    _training(
        d(2025, 6, 15),
        Audience.COMMUNE_OFFICIALS,
        level=Level.DISTRICT,
        district=hai_hau,
        sessions_held=1,
        attendees=25,
    )
    _training(
        d(2025, 3, 1),
        Audience.CIVIL_SERVANTS,
        level=Level.DISTRICT,
        district=hai_hau,
        course_completions=40,
    )
    _training(
        d(2025, 6, 1), Audience.KEY_OFFICIALS, level=Level.PROVINCE, sessions_held=1, attendees=100
    )

    now = timezone.now()
    TrainingYear.objects.create(year=YEAR, district=hai_hau, officials_trained=70, computed_at=now)
    TrainingYear.objects.create(year=YEAR, commune=hai_dong, officials_trained=12, computed_at=now)
    TrainingYear.objects.create(year=YEAR, officials_trained=5_000, computed_at=now)

    services.target_save(
        by=None, year=YEAR, figure=Figure.HOUSEHOLDS_REACHED, value=1_000, district=hai_hau
    )
    services.target_save(by=None, year=YEAR, figure=Figure.TEAMS, value=7, district=hai_hau)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(district, year=YEAR, month=MONTH) -> str:
    return reverse("dashboard:report_district_month", args=[district.code, year, month])


def _sheets(response) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


def _by_first_cell(rows) -> dict:
    return {row[0]: row for row in rows if row and row[0] is not None}


@pytest.mark.django_db
def test_the_report_gives_the_summary_rows_figures(hai_hau, hai_dong, neighbour, summary_rows):
    user = province_staff(Province.objects.get())

    response = _client(user).get(_url(hai_hau))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="report-366-2025-06.xlsx"'
    sheets = _sheets(response)
    assert list(sheets) == ["Summary", "Communes", "Services", "Trainings"]

    summary = _by_first_cell(sheets["Summary"])
    header = summary["Figure"]
    assert header[:4] == (
        "Figure",
        "In the month",
        "Cumulative to the month's end",
        "Target for the year",
    )
    # (in the month, cumulative): counts from 1 January; levels since the start.
    expected = {
        "Visits": (8 + 4, 5 + 8 + 4),
        "Households reached": (6 + 4, 3 + 4 + 6 + 4),
        "Return visits": (2, 1 + 2),
        "Residents helped": (9 + 4, 7 + 9 + 4),
        "Active teams": (1 + 1, 2 + 3 + 1 + 1),
        "Active members": (5 - 1, 10 + 20 + 5 - 1),
        "Members on the Zalo OA": (2, 12),
        "Sessions held": (2, 2),
        "Attendees": (55, 55),
        "Course completions": (0, 40),
        "Officials trained": (None, 70),
    }
    for label, (in_month, cumulative) in expected.items():
        assert summary[label][1:3] == (in_month, cumulative), label
    households = summary["Households reached"]
    pace = progress(
        figure=Figure.HOUSEHOLDS_REACHED,
        current=17,
        at_year_start=3,
        year=YEAR,
        today=dt.date(2025, 6, 30),
        target=1_000,
    )
    assert households[3:7] == (1_000, pytest.approx(0.017), pace.projected, "No")
    assert summary["Active teams"][3:7] == (7, 1.0, 7 + round(5 / 181 * 184), "Yes")
    assert summary["Visits"][3] is None  # visits have no target

    communes = _by_first_cell(sheets["Communes"])
    header = communes["Code"]
    row = dict(zip(header, communes[hai_dong.code], strict=True))
    assert row["Commune"] == hai_dong.name
    assert row["Households"] == 100
    assert row["Visits: in the month"] == 8
    assert row["Visits: cumulative"] == 13
    assert row["Households reached: cumulative"] == 13
    assert row["Coverage"] == pytest.approx(0.13)
    assert row["Sessions held: in the month"] == 1
    assert row["Attendees: in the month"] == 30
    assert row["Officials trained: cumulative"] == 12
    other = dict(zip(header, communes[neighbour.code], strict=True))
    assert (other["Visits: in the month"], other["Active teams: cumulative"]) == (4, 1)
    assert other["Coverage"] is None  # its households are not known
    # Every commune of the district has a row, a row for the district level, then the total.
    assert len(sheets["Communes"]) == 1 + Commune.objects.filter(district=hai_hau).count() + 2
    district_level = dict(zip(header, sheets["Communes"][-2], strict=True))
    assert district_level["Commune"] == "District level, not in any commune"
    assert district_level["Sessions held: in the month"] == 1
    assert district_level["Course completions: cumulative"] == 40
    assert district_level["Visits: in the month"] is None
    total = dict(zip(header, sheets["Communes"][-1], strict=True))
    assert total["Code"] == 366
    assert total["Visits: cumulative"] == 17
    assert total["Officials trained: cumulative"] == 70
    # The communes' rows and the district's own add up to the total, in every column
    # that counts (distinct people trained and coverage do not add up).
    rows = [dict(zip(header, row, strict=True)) for row in sheets["Communes"][1:-1]]
    for column in header[3:]:
        if column.startswith("Officials trained") or column == "Coverage":
            continue
        assert sum(row[column] or 0 for row in rows) == total[column], column

    services_sheet = _by_first_cell(sheets["Services"])
    portal = str(Service.objects.get(code="online_application"))
    banking = str(Service.objects.get(code="mobile_banking"))
    assert services_sheet[portal][1:] == (7, 7)
    assert services_sheet[banking][1:] == (0, 3)

    trainings = _by_first_cell(sheets["Trainings"])
    assert trainings["Residents"][1:] == (1, 30, 0, 1, 30, 0)
    assert trainings["Commune officials"][1:] == (1, 25, 0, 1, 25, 0)
    assert trainings["Civil servants and public employees"][1:] == (0, 0, 0, 0, 0, 40)
    assert trainings["Key officials"][1:] == (0, 0, 0, 0, 0, 0)  # the province's session
    assert trainings["All audiences"][1:] == (2, 55, 0, 2, 55, 40)


@pytest.mark.django_db
def test_a_district_that_trained_nobody_itself_has_no_district_level_row(summary_rows):
    """The city's June: work in one of its wards, no training of its own; a row of zeros
    would say nothing."""
    city = District.objects.get(code=356)
    response = _client(province_staff(Province.objects.get())).get(_url(city))
    communes = _sheets(response)["Communes"]
    assert len(communes) == 1 + Commune.objects.filter(district=city).count() + 1
    assert not any(row[1] == "District level, not in any commune" for row in communes)
    header, total = communes[0], dict(zip(communes[0], communes[-1], strict=True))
    assert total["Code"] == 356
    visits = header.index("Visits: in the month")
    assert sum(row[visits] for row in communes[1:-1]) == total["Visits: in the month"] == 50


@pytest.mark.django_db
def test_the_district_level_row_is_named_in_vietnamese(settings, hai_hau, summary_rows):
    """Waits on the catalogue (locale/vi) for the row's name."""
    settings.LANGUAGE_CODE = "vi"
    response = _client(province_staff(Province.objects.get())).get(_url(hai_hau))
    communes = list(_sheets(response).values())[1]
    assert communes[-2][1] == "Cấp huyện, không thuộc xã nào"


@pytest.mark.django_db
def test_the_workbook_is_in_the_users_language(settings, hai_hau, summary_rows):
    settings.LANGUAGE_CODE = "vi"
    user = province_staff(Province.objects.get())
    response = _client(user).get(_url(hai_hau))
    trainings = _by_first_cell(list(_sheets(response).values())[3])
    assert trainings["Người dân"][1:3] == (1, 30)


@pytest.mark.django_db
def test_the_report_is_built_in_a_fixed_number_of_queries(
    hai_hau, summary_rows, django_assert_num_queries
):
    with django_assert_num_queries(7):
        district_month(hai_hau, YEAR, MONTH)
    for commune in Commune.objects.filter(district=hai_hau)[:10]:
        _day(commune, dt.date(2025, 6, 2), visits=1)
    with django_assert_num_queries(7):
        district_month(hai_hau, YEAR, MONTH)


@pytest.mark.django_db
def test_the_province_reports_on_any_district_and_district_staff_on_their_own(
    hai_hau, hai_dong, summary_rows
):
    city = District.objects.get(code=356)
    provincial = _client(province_staff(Province.objects.get()))
    assert provincial.get(_url(hai_hau)).status_code == 200
    assert provincial.get(_url(city)).status_code == 200

    own = _client(district_staff(hai_hau))
    assert own.get(_url(hai_hau)).status_code == 200
    assert own.get(_url(city)).status_code == 404

    official = _client(commune_official(hai_dong))
    assert official.get(_url(hai_hau)).status_code == 404

    assert provincial.get(_url(hai_hau, month=13)).status_code == 404
    assert (
        provincial.get(
            reverse("dashboard:report_district_month", args=[999, YEAR, MONTH])
        ).status_code
        == 404
    )
    anonymous = Client().get(_url(hai_hau))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
