"""The dashboard pages as their readers see them: the figures put in the summary tables,
the filters, who may open what, the exports, and how many queries a page costs.

The summary tables are filled directly here (the roll-up has its own tests): what the
page shows must be exactly what the tables hold. Two communes in two districts:
"ours" is Xã Hải Đông (Huyện Hải Hậu, 366), "theirs" Phường Trần Tế Xương (Thành phố
Nam Định, 356). The figures are in the first quarter of 2025, read with a custom period.
"""

import csv
import datetime as dt
import io
import logging
import re
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import openpyxl
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst

from accounts.selectors import demo_data_changed, demo_data_present
from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, District, Hamlet, Province
from dashboard.models import (
    CommuneDay,
    CommuneDayService,
    CommuneReadiness,
    HamletDay,
    RollupState,
    Target,
    TeamDay,
    TeamTotal,
    TrainingDay,
    TrainingYear,
)
from dashboard.rollup import STATE_CACHE_KEY, months_rebuild
from outreach.catalogue import SERVICE_LABELS
from outreach.models import Household, Member, Service
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from trainings.models import Audience

OURS, THEIRS = 14269, 13636
OUR_DISTRICT, THEIR_DISTRICT = 366, 356
Q1_2025 = {"period": "custom", "start": "01/01/2025", "end": "31/03/2025"}
JANUARY_2025 = {"period": "custom", "start": "01/01/2025", "end": "31/01/2025"}
COMPUTED = dt.datetime(2025, 3, 31, 1, 15, tzinfo=dt.UTC)  # 08:15 in Nam Định


# --- Filling the summary tables ----------------------------------------------------------


def publish(version: int = 1, at: dt.datetime | None = COMPUTED) -> None:
    """Say a roll-up ran: the pages' caches are keyed on this version, and the month
    rows are the sums of the day rows the test wrote, as a roll-up leaves them."""
    months_rebuild()
    RollupState.objects.update_or_create(pk=1, defaults={"version": version, "last_run_at": at})
    cache.delete(STATE_CACHE_KEY)


def commune_day(commune: Commune, day: dt.date, **values) -> CommuneDay:
    return CommuneDay.objects.create(
        commune=commune, district_id=commune.district_id, day=day, computed_at=COMPUTED, **values
    )


def training_day(day: dt.date, *, level: str, district=None, commune=None, **values):
    if commune is not None:
        district = commune.district
    return TrainingDay.objects.create(
        level=level,
        district=district,
        commune=commune,
        day=day,
        audience=values.pop("audience", "residents"),
        computed_at=COMPUTED,
        **values,
    )


def training_year(year: int, *, district=None, commune=None, officials: int) -> TrainingYear:
    return TrainingYear.objects.create(
        year=year,
        district=district,
        commune=commune,
        officials_trained=officials,
        people_trained=officials,
        computed_at=COMPUTED,
    )


@pytest.fixture
def ours(divisions) -> Commune:
    commune = Commune.objects.select_related("district").get(code=OURS)
    commune.households = 1_000
    commune.save(update_fields=["households"])
    return commune


@pytest.fixture
def theirs(divisions) -> Commune:
    commune = Commune.objects.select_related("district").get(code=THEIRS)
    commune.households = 2_000
    commune.save(update_fields=["households"])
    return commune


@pytest.fixture
def admin(divisions):
    return UserFactory(is_superuser=True)


@pytest.fixture
def our_team(ours, admin):
    """A team of ours with a leader who has a login (a team-level user)."""
    hamlet = HamletFactory(commune=ours, name="Thôn Đông")
    team = TeamFactory(commune=ours, hamlet=hamlet, name="Tổ Đông")
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912000111")
    team.leader_user, _password = member_login_create(by=admin, member=leader)
    return team


@pytest.fixture
def their_team(theirs):
    return TeamFactory(commune=theirs, name="Tổ phường")


@pytest.fixture
def figures(ours, theirs, our_team, their_team):
    """A quarter's work in both communes, as the roll-up would have summed it."""
    commune_day(
        ours,
        dt.date(2025, 1, 10),
        teams_formed=2,
        members_joined=12,
        zalo_joined=5,
        visits=300,
        households_first=250,
        residents_helped=400,
    )
    commune_day(
        ours,
        dt.date(2025, 3, 5),
        members_left=2,
        visits=1_500,
        households_first=600,
        return_visits=900,
        residents_helped=900,
    )
    commune_day(
        theirs,
        dt.date(2025, 2, 1),
        teams_formed=3,
        members_joined=20,
        visits=100,
        households_first=80,
        residents_helped=90,
    )
    # Before the year: a level carried into it.
    commune_day(theirs, dt.date(2024, 12, 20), teams_formed=1, members_joined=7)
    ecommerce = Service.objects.get(code="ecommerce")
    banking = Service.objects.get(code="mobile_banking")
    for commune, service, visits in [
        (ours, ecommerce, 700),
        (ours, banking, 1_234),
        (theirs, ecommerce, 50),
    ]:
        CommuneDayService.objects.create(
            commune=commune,
            district_id=commune.district_id,
            day=dt.date(2025, 3, 5),
            service=service,
            visits=visits,
            computed_at=COMPUTED,
        )
    CommuneReadiness.objects.create(
        commune=ours,
        district_id=ours.district_id,
        item="has_smartphone",
        households_yes=800,
        households_answered=1_000,
        computed_at=COMPUTED,
    )
    hamlet = Hamlet.objects.get(commune=ours, name="Thôn Đông")
    HamletDay.objects.create(
        hamlet=hamlet,
        commune=ours,
        day=dt.date(2025, 3, 5),
        visits=1_500,
        households_first=600,
        residents_helped=900,
        computed_at=COMPUTED,
    )
    TeamDay.objects.create(
        team=our_team,
        commune=ours,
        day=dt.date(2025, 3, 5),
        visits=1_500,
        households=1_100,
        households_new=600,
        residents_helped=900,
        computed_at=COMPUTED,
    )
    TeamTotal.objects.create(
        team=our_team,
        commune=ours,
        visits=1_800,
        households_reached=850,
        last_visited_on=dt.date(2025, 3, 5),
        computed_at=COMPUTED,
    )
    training_day(dt.date(2025, 3, 10), level="commune", commune=ours, sessions_held=2, attendees=60)
    training_day(
        dt.date(2025, 3, 12),
        level="district",
        district=ours.district,
        audience="commune_officials",
        sessions_held=1,
        attendees=40,
    )
    training_day(dt.date(2025, 2, 20), level="province", sessions_held=1, attendees=100)
    training_year(2025, officials=321)
    training_year(2025, district=ours.district, officials=45)
    training_year(2025, commune=ours, officials=12)
    publish()


# --- Reading the pages -------------------------------------------------------------------


def url(name: str, *args, **query) -> str:
    path = reverse(f"dashboard:{name}", args=args)
    return f"{path}?{urlencode(query)}" if query else path


def export_url(file: str, **query) -> str:
    table, fmt = file.split(".")
    path = reverse("dashboard:export", kwargs={"table": table, "fmt": fmt})
    return f"{path}?{urlencode(query)}" if query else path


def tile(html: str, figure: str) -> str:
    """The value shown on a tile, as text."""
    match = re.search(
        rf'data-figure="{figure}">.*?<span class="tile-value">([^<]*)</span>', html, re.S
    )
    assert match, f"no tile {figure}"
    return match.group(1).strip()


def tile_change(html: str, figure: str) -> str:
    match = re.search(
        rf'data-figure="{figure}">.*?<span class="tile-change">([^<]*)</span>', html, re.S
    )
    assert match, f"no change on tile {figure}"
    return match.group(1).strip()


def row_cells(html: str, name: str) -> list[str]:
    """The cells' texts of the first table row that names `name` (links and tags dropped)."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S):
        if name in row:
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]
    raise AssertionError(f"no row with {name}")


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


@pytest.fixture
def provincial(divisions):
    return province_staff(Province.objects.get())


# --- What the pages show -------------------------------------------------------------------


@pytest.mark.django_db
def test_overview_tiles_show_the_summary_figures_in_vietnamese_format(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(url("overview", **Q1_2025)).content.decode()
    assert tile(html, "teams") == "6"  # 2 + 3, and 1 formed in 2024
    assert tile_change(html, "teams").startswith("+5 ")
    assert tile(html, "members") == "37"  # 12 - 2 + 20 + 7
    assert tile(html, "zalo_members") == "5"
    assert tile(html, "households_reached") == "930"
    # Residents helped count again each year: this year's to the end of the period.
    assert tile(html, "residents_helped") == "1.390"
    assert tile(html, "officials_trained") == "321"
    assert tile(html, "sessions_held") == "4"
    # Without a Target record the campaign's own: 2,160 teams, 600,000 households.
    assert "2.160" in html
    assert "600.000" in html


@pytest.mark.django_db
def test_overview_tables_show_districts_services_readiness_and_trend(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(url("overview", **Q1_2025)).content.decode()
    districts = section(html, "districts-heading")
    # teams, members, households reached, coverage, visits, residents, sessions
    assert row_cells(districts, "Huyện Hải Hậu")[1:] == [
        "2", "10", "850", "85,0%", "1.800", "1.300", "3",
    ]  # fmt: skip
    assert row_cells(districts, "Thành phố Nam Định")[1:] == [
        "4", "27", "80", "4,0%", "100", "90", "0",
    ]  # fmt: skip
    # Ten districts, the province's own session (in none of them), and the total row
    # adds them all up: the province's figures, as on its tiles.
    assert districts.count('<th scope="row"><a href="/dashboard/district/') == 10
    assert districts.count('<tr class="above">') == 1
    assert row_cells(districts, "Total" if "Total" in districts else "Tổng")[1:] == [
        "6", "37", "930", "31,0%", "1.900", "1.390", "4",
    ]  # fmt: skip
    with translation.override("vi"):
        banking = str(SERVICE_LABELS["mobile_banking"])
        smartphone = capfirst(str(Household._meta.get_field("has_smartphone").verbose_name))
    assert row_cells(section(html, "services-heading"), banking) == [banking, "1.234"]
    readiness = row_cells(section(html, "readiness-heading"), smartphone)
    assert readiness == [smartphone, "800", "1.000", "80,0%"]
    trend = section(html, "trend-heading")
    assert row_cells(trend, "03/2025")[1:] == ["1.500", "600"]
    assert row_cells(trend, "01/2025")[1:] == ["300", "250"]


@pytest.mark.django_db
def test_every_district_number_links_down_keeping_the_period(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(url("overview", **Q1_2025)).content.decode()
    link = url("district", OUR_DISTRICT, period="custom", start="2025-01-01", end="2025-03-31")
    assert html.count(f'href="{link.replace("&", "&amp;")}"') == 8  # the name and 7 numbers


@pytest.mark.django_db
def test_a_shorter_period_changes_the_figures_and_stays_in_the_links(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(url("overview", **JANUARY_2025)).content.decode()
    assert tile(html, "teams") == "3"  # their team formed in February is not there yet
    assert tile_change(html, "teams").startswith("+2 ")
    assert tile(html, "households_reached") == "250"
    assert row_cells(section(html, "districts-heading"), "Huyện Hải Hậu")[5] == "300"
    assert "end=2025-01-31" in html  # the export and drill-down links keep it
    assert 'value="custom" selected' in html
    # Typed day first, given back as the date picker reads it.
    assert 'name="end" value="2025-01-31"' in html


@pytest.mark.django_db
def test_the_district_filter_narrows_the_overview_to_that_district(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(url("overview", district=OUR_DISTRICT, **Q1_2025)).content.decode()
    assert tile(html, "teams") == "2"
    assert tile(html, "households_reached") == "850"
    assert tile(html, "officials_trained") == "45"
    assert tile(html, "sessions_held") == "3"  # the district's own and its commune's
    # The districts table still lists all ten, the chosen one marked.
    districts = section(html, "districts-heading")
    assert 'class="chosen"' in districts
    assert "Thành phố Nam Định" in districts
    assert "Phường Trần Tế Xương" not in section(html, "ranking-heading")
    assert f"district={OUR_DISTRICT}" in html  # the exports carry it


@pytest.mark.django_db
def test_invalid_filters_show_an_error_and_fall_back_to_this_year(client, figures, provincial):
    client.force_login(provincial)
    response = client.get(
        url("overview", period="custom", start="31/02/2025", end="01/03/2025"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid date." in html
    # This year's first day: the period shown is the default.
    assert f"Period: 01/01/{timezone.localdate().year}" in html


@pytest.mark.django_db
def test_an_end_before_the_start_is_refused(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(
        url("overview", period="custom", start="31/03/2025", end="01/01/2025"),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "The end of the period is before its start." in html
    # This year's figures, not the first quarter of 2025's.
    assert tile(html, "residents_helped") == "0"


@pytest.mark.django_db
def test_figures_as_of_the_last_roll_up_in_local_time(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(url("overview"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Figures as of 08:15" in html


@pytest.mark.django_db
def test_before_the_first_roll_up_the_page_says_so(client, provincial):
    client.force_login(provincial)
    html = client.get(url("overview"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The figures have not been computed yet" in html


def coverage_ladder(count: int) -> list[Commune]:
    """`count` communes of our district with 100 households each, the first reaching
    none and each next one 3 more: ranked from the last (best) to the first."""
    communes = list(Commune.objects.filter(district__code=OUR_DISTRICT).order_by("code")[:count])
    for index, commune in enumerate(communes):
        commune.households = 100
        commune.save(update_fields=["households"])
        commune_day(commune, dt.date(2025, 1, 5), households_first=index * 3)
    publish()
    return communes


def ranks(html: str) -> list[int]:
    """The ranks of the rows of a ranking, in their order."""
    return [int(rank) for rank in re.findall(r'<tr[^>]*>\s*<td class="num">(\d+)</td>', html)]


@pytest.mark.django_db
def test_the_communes_page_ranks_every_commune_the_ten_lowest_highlighted(
    client, divisions, provincial
):
    communes = coverage_ladder(12)
    client.force_login(provincial)
    html = client.get(url("communes", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    ranking = section(html, "communes-heading")
    assert ranks(ranking) == list(range(1, 13))
    assert ranking.count('class="lowest"') == 10
    assert ranking.count("among the 10 lowest") == 10
    best = row_cells(ranking, f">{communes[-1].name}<")
    assert best[0] == "1" and "among the 10 lowest" not in best[1]
    assert "among the 10 lowest" in row_cells(ranking, f">{communes[0].name}<")[1]
    # teams, members, reached, households, coverage, visits, residents, sessions
    assert best[2:] == [
        "Huyện Hải Hậu", "0", "0", "33", "100", "33.0%", "0", "0", "0",
    ]  # fmt: skip
    # The 214 communes without a household count follow, unranked, to the 226.
    assert ranking.count("<tr") == 226 + 2  # the header and the total
    unranked = Commune.objects.filter(households__isnull=True).order_by("code").first()
    assert row_cells(ranking, f">{unranked.name}<")[0] == "–"
    assert row_cells(ranking, "Total")[1:3] == ["0", "0"]
    # Each name links to the commune's page for the same period.
    link = url("commune", communes[0].code, period="custom", start="2025-01-01", end="2025-03-31")
    assert f'href="{link.replace("&", "&amp;")}"' in ranking
    assert export_url("communes.xlsx").replace("&", "&amp;") in html


@pytest.mark.django_db
def test_the_overview_shows_the_ranking_s_ten_highest_and_ten_lowest(client, divisions, provincial):
    communes = coverage_ladder(25)
    client.force_login(provincial)
    html = client.get(url("overview", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    ranking = section(html, "ranking-heading")
    assert ranks(ranking) == [*range(1, 11), *range(16, 26)]
    assert ranking.count('class="lowest"') == 10
    assert row_cells(ranking, f">{communes[-1].name}<")[0] == "1"
    assert "among the 10 lowest" in row_cells(ranking, f">{communes[0].name}<")[1]
    # The five in the middle are one click away, with the 201 that have no count.
    for commune in communes[10:15]:
        assert f">{commune.name}<" not in ranking
    assert "5 communes in between" in ranking
    assert "201 communes are not ranked" in ranking
    everyone = url("communes", period="custom", start="2025-01-01", end="2025-03-31")
    assert f'href="{everyone.replace("&", "&amp;")}"' in ranking
    assert ranking.count("<tr") == 1 + 20 + 1  # the header, the ends and the gap


@pytest.mark.django_db
def test_a_short_ranking_is_shown_whole_on_the_overview(client, divisions, provincial):
    coverage_ladder(20)
    client.force_login(provincial)
    html = client.get(url("overview", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    ranking = section(html, "ranking-heading")
    assert ranks(ranking) == list(range(1, 21))
    assert "in between" not in ranking


@pytest.mark.django_db
def test_the_communes_page_narrowed_to_a_district_lists_its_communes_only(
    client, figures, provincial
):
    client.force_login(provincial)
    html = client.get(
        url("communes", district=OUR_DISTRICT, **Q1_2025), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Communes of Huyện Hải Hậu" in html
    ranking = section(html, "communes-heading")
    # 34 communes, the district's own session, the header and the total
    assert ranking.count("<tr") == 34 + 3
    assert "Phường Trần Tế Xương" not in ranking
    # teams, members, reached, households, coverage, visits, residents, sessions
    assert row_cells(ranking, "Xã Hải Đông")[2:] == [
        "2", "10", "850", "1,000", "85.0%", "1,800", "1,300", "2",
    ]  # fmt: skip
    assert f"district={OUR_DISTRICT}" in section(html, "communes-heading")  # the exports
    # The way back: the overview narrowed to the same district and period.
    back = url("overview", period="custom", start="2025-01-01", end="2025-03-31")
    assert f'href="{back.replace("&", "&amp;")}&amp;district={OUR_DISTRICT}"' in html


@pytest.mark.django_db
def test_priority_communes_with_their_sessions(client, figures, ours, provincial):
    ours.new_rural_status = Commune.NewRuralStatus.ADVANCED
    ours.save(update_fields=["new_rural_status"])
    publish(version=2)
    client.force_login(provincial)
    html = client.get(url("overview", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    cells = row_cells(section(html, "priority-heading"), ours.name)
    assert cells[1:] == ["Huyện Hải Hậu", "Advanced new-rural", "85.0%", "2", "60"]


@pytest.mark.django_db
def test_a_target_record_replaces_the_campaign_target(client, figures, provincial):
    Target.objects.create(year=2025, figure="teams", value=10)
    client.force_login(provincial)
    html = client.get(url("overview", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    teams = html[html.index('data-figure="teams"') : html.index('data-figure="members"')]
    assert "60.0% of the target of 10" in teams


@pytest.mark.django_db
def test_district_page_shows_its_communes_and_own_trainings(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(url("district", OUR_DISTRICT, **Q1_2025)).content.decode()
    assert tile(html, "teams") == "2"
    assert tile(html, "sessions_held") == "3"
    communes = section(html, "communes-heading")
    assert row_cells(communes, "Xã Hải Đông")[1:] == [
        "2", "10", "850", "85,0%", "1.800", "1.300", "2",
    ]  # fmt: skip
    # 34 communes, the district's own session (in none of them), the header and the total
    assert communes.count("<tr") == 34 + 3
    link = url("commune", OURS, period="custom", start="2025-01-01", end="2025-03-31")
    assert link.replace("&", "&amp;") in communes
    with translation.override("vi"):
        officials = str(Audience.COMMUNE_OFFICIALS.label)
    # Only the district's own session: its commune's are on the commune's page.
    assert row_cells(section(html, "trainings-heading"), officials) == [officials, "1", "40", "0"]


# --- Tables whose rows add up to their totals ------------------------------------------------


def body_rows(table: str) -> list[list[str]]:
    """The cells' texts of every row of a table between its header and its total."""
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in row] for row in cells]


def whole(text: str) -> int:
    """A number as a page writes it in English (1,800), an empty cell as nothing."""
    return int(text.replace(",", "") or 0)


def adds_up(table: str) -> tuple[int, int]:
    """The sessions column summed over the table's rows, and its total row's."""
    footer = table.split("<tfoot>")[1].split("</tfoot>")[0]
    total = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", footer, re.S)[-1]
    return sum(whole(row[-1]) for row in body_rows(table)), whole(total)


@pytest.mark.django_db
def test_a_district_s_own_sessions_are_a_row_of_its_communes_table_which_adds_up(
    client, figures, provincial
):
    client.force_login(provincial)
    page = url("district", OUR_DISTRICT, **Q1_2025)
    html = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    communes = section(html, "communes-heading")
    # The district's session for commune officials belongs to none of its communes.
    assert body_rows(communes)[-1] == ["District level, not in any commune", *[""] * 6, "1"]
    assert adds_up(communes) == (3, 3)
    assert tile(html, "sessions_held") == "3"
    # The same district on the province's page has the same figure.
    overview = client.get(url("overview", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en")
    hai_hau = row_cells(section(overview.content.decode(), "districts-heading"), "Huyện Hải Hậu")
    assert hai_hau[-1] == "3"


@pytest.mark.django_db
def test_the_province_s_own_sessions_are_a_row_of_its_districts_table_which_adds_up(
    client, figures, provincial
):
    client.force_login(provincial)
    html = client.get(url("overview", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    districts = section(html, "districts-heading")
    assert body_rows(districts)[-1] == ["Province level, not in any district", *[""] * 6, "1"]
    assert adds_up(districts) == (4, 4)
    assert tile(html, "sessions_held") == "4"
    # Every commune of the province: the district's session and the province's, in none.
    everyone = client.get(url("communes", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en")
    communes = section(everyone.content.decode(), "communes-heading")
    assert [row[1] for row in body_rows(communes)[-2:]] == [
        "District level, not in any commune",
        "Province level, not in any district",
    ]
    assert adds_up(communes) == (4, 4)
    # The overview narrowed to a district: its communes and its own session.
    narrowed = client.get(
        url("communes", district=OUR_DISTRICT, **Q1_2025), HTTP_ACCEPT_LANGUAGE="en"
    )
    communes = section(narrowed.content.decode(), "communes-heading")
    assert body_rows(communes)[-1][1] == "District level, not in any commune"
    assert adds_up(communes) == (3, 3)


@pytest.mark.django_db
def test_a_period_without_sessions_above_the_units_shows_no_row_of_zeros(
    client, figures, provincial
):
    client.force_login(provincial)
    # January: neither the district's session (March) nor the province's (February).
    for page in [
        url("overview", **JANUARY_2025),
        url("communes", **JANUARY_2025),
        url("district", OUR_DISTRICT, **JANUARY_2025),
    ]:
        html = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'class="above"' not in html, page
        assert "not in any" not in html, page
    rows = csv_rows(client.get(export_url("districts.csv", **JANUARY_2025)))
    assert len(rows) == 1 + 10 + 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "query", "name_column", "above"),
    [
        ("districts", {}, 1, ["Province level, not in any district"]),
        (
            "communes",
            {},
            2,
            ["District level, not in any commune", "Province level, not in any district"],
        ),
        ("communes", {"district": OUR_DISTRICT}, 2, ["District level, not in any commune"]),
    ],
)
def test_the_exports_rows_add_up_to_their_total(
    client, figures, provincial, table, query, name_column, above
):
    client.force_login(provincial)
    response = client.get(export_url(f"{table}.csv", **query, **Q1_2025), HTTP_ACCEPT_LANGUAGE="en")
    header, *rows, total = csv_rows(response)
    sessions = header.index("Sessions held in the period")
    assert [row[name_column] for row in rows[-len(above) :]] == above
    assert sum(int(row[sessions]) for row in rows) == int(total[sessions])
    for column in ("Active teams", "Visits in the period", "Residents helped in the period"):
        index = header.index(column)
        assert sum(int(row[index] or 0) for row in rows) == int(total[index]), column


@pytest.mark.django_db
def test_the_rows_above_the_units_are_named_in_vietnamese(client, figures, provincial):
    """Waits on the catalogue (locale/vi) for its two new names."""
    client.force_login(provincial)
    district = client.get(url("district", OUR_DISTRICT, **Q1_2025)).content.decode()
    assert "Cấp huyện, không thuộc xã nào" in section(district, "communes-heading")
    overview = client.get(url("overview", **Q1_2025)).content.decode()
    assert "Cấp tỉnh, không thuộc huyện nào" in section(overview, "districts-heading")


@pytest.mark.django_db
def test_commune_page_shows_hamlets_and_teams_with_their_last_visit(client, figures, provincial):
    client.force_login(provincial)
    html = client.get(url("commune", OURS, **Q1_2025)).content.decode()
    assert tile(html, "households_reached") == "850"
    assert tile(html, "officials_trained") == "12"
    teams = section(html, "teams-heading")
    assert row_cells(teams, "Tổ Đông")[1:] == ["1.500", "900", "850", "05/03/2025"]
    hamlets = section(html, "hamlets-heading")
    assert row_cells(hamlets, "Thôn Đông")[1:] == ["600", "1.500", "600", "900"]


@pytest.mark.django_db
def test_team_page_shows_the_team_s_work_and_last_visit(client, figures, our_team):
    client.force_login(our_team.leader_user)
    html = client.get(url("team", our_team.pk, **Q1_2025)).content.decode()
    assert tile(html, "visits") == "1.500"
    assert tile(html, "households_new") == "600"
    assert tile(html, "households") == "1.100"
    assert tile(html, "residents_helped") == "900"
    assert tile(html, "households_reached") == "850"
    assert tile(html, "last_visit") == "05/03/2025"


def tile_label(html: str, figure: str) -> str:
    match = re.search(rf'data-figure="{figure}"><span class="tile-label">([^<]*)<', html)
    assert match, f"no tile {figure}"
    return match.group(1).strip()


@pytest.mark.django_db
def test_team_page_names_its_household_figures_so_they_cannot_be_confused(
    client, figures, our_team
):
    client.force_login(our_team.leader_user)
    response = client.get(url("team", our_team.pk, **Q1_2025), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    # 1,100 households visited in the quarter, 850 reached since the team was founded:
    # the first is counted again each day, which its name says.
    assert tile_label(html, "households") == "Households visited in the period, counted once a day"
    assert tile_label(html, "households_new") == (
        "Households visited for the first time in the period"
    )
    assert tile_label(html, "households_reached") == (
        "Households reached since the team was founded"
    )
    assert tile_label(html, "visits_total") == "Visits since the team was founded"
    formed = our_team.formed_on.strftime("%d/%m/%Y")
    assert f"Since the team was founded on {formed}" in html
    assert "The team's work from 01/01/2025 to 31/03/2025" in html


@pytest.mark.django_db
def test_team_page_links_to_the_team_s_visits_and_its_page(client, figures, our_team):
    client.force_login(our_team.leader_user)
    html = client.get(url("team", our_team.pk, **Q1_2025)).content.decode()
    visits = reverse("outreach:visit_list")
    in_period = f"{visits}?team={our_team.pk}&amp;start=2025-01-01&amp;end=2025-03-31"
    every = f"{visits}?team={our_team.pk}"
    page = reverse("outreach:team_detail", args=[our_team.pk])
    for link in (in_period, f'{every}"', page):
        assert f'href="{link}' in html, link
    # The links lead to the team's visits and its page.
    listed = client.get(in_period.replace("&amp;", "&"), HTTP_ACCEPT_LANGUAGE="en")
    assert listed.status_code == 200
    assert f"Team: {our_team.name}" in listed.content.decode()
    assert client.get(page).status_code == 200
    # Provincial staff whose role lost the outreach permissions see the figures only.
    reader = province_staff(Province.objects.get())
    reader.groups.clear()
    client.force_login(reader)
    html = client.get(url("team", our_team.pk, **Q1_2025)).content.decode()
    assert visits not in html and page not in html


# --- Who sees what -------------------------------------------------------------------------

OK, GONE, FORBIDDEN, REDIRECT = 200, 404, 403, 302

ROLES = {
    "anonymous": lambda w: None,
    "no scope": lambda w: UserFactory(scope_level=""),
    "provincial staff": lambda w: province_staff(Province.objects.get()),
    "district staff": lambda w: district_staff(District.objects.get(code=OUR_DISTRICT)),
    "commune official": lambda w: commune_official(Commune.objects.get(code=OURS)),
    "team leader": lambda w: w["our_team"].leader_user,
}
PAGES = {
    "overview": lambda w: url("overview"),
    "communes": lambda w: url("communes"),
    "their district's communes": lambda w: url("communes", district=THEIR_DISTRICT),
    "our district": lambda w: url("district", OUR_DISTRICT),
    "their district": lambda w: url("district", THEIR_DISTRICT),
    "our commune": lambda w: url("commune", OURS),
    "their commune": lambda w: url("commune", THEIRS),
    "our team": lambda w: url("team", w["our_team"].pk),
    "their team": lambda w: url("team", w["their_team"].pk),
    "our communes export": lambda w: export_url("communes.csv", district=OUR_DISTRICT),
    "their communes export": lambda w: export_url("communes.csv", district=THEIR_DISTRICT),
    "province districts export": lambda w: export_url("districts.csv"),
    "our teams export": lambda w: export_url("teams.csv", commune=OURS),
    "their teams export": lambda w: export_url("teams.csv", commune=THEIRS),
}
#                            anon      noscope    province  district  official  leader
EXPECTED = {
    "overview": (REDIRECT, FORBIDDEN, OK, OK, REDIRECT, REDIRECT),
    # Every commune of the province: for those who see the province's tables.
    "communes": (REDIRECT, FORBIDDEN, OK, GONE, GONE, GONE),
    "their district's communes": (REDIRECT, FORBIDDEN, OK, GONE, GONE, GONE),
    "our district": (REDIRECT, FORBIDDEN, OK, OK, GONE, GONE),
    "their district": (REDIRECT, FORBIDDEN, OK, GONE, GONE, GONE),
    "our commune": (REDIRECT, FORBIDDEN, OK, OK, OK, GONE),
    "their commune": (REDIRECT, FORBIDDEN, OK, GONE, GONE, GONE),
    "our team": (REDIRECT, FORBIDDEN, OK, OK, OK, OK),
    "their team": (REDIRECT, FORBIDDEN, OK, GONE, GONE, GONE),
    "our communes export": (REDIRECT, FORBIDDEN, OK, OK, GONE, GONE),
    "their communes export": (REDIRECT, FORBIDDEN, OK, GONE, GONE, GONE),
    "province districts export": (REDIRECT, FORBIDDEN, OK, GONE, GONE, GONE),
    "our teams export": (REDIRECT, FORBIDDEN, OK, OK, OK, GONE),
    "their teams export": (REDIRECT, FORBIDDEN, OK, GONE, GONE, GONE),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_opens_only_the_dashboards_of_its_scope(
    client, figures, our_team, their_team, role
):
    world = {"our_team": our_team, "their_team": their_team}
    user = ROLES[role](world)
    if user is not None:
        client.force_login(user)
    index = list(ROLES).index(role)
    statuses = {page: client.get(PAGES[page](world)).status_code for page in PAGES}
    assert statuses == {page: expected[index] for page, expected in EXPECTED.items()}


@pytest.mark.django_db
def test_commune_officials_and_team_leaders_land_on_their_own_page(client, figures, our_team):
    client.force_login(commune_official(Commune.objects.get(code=OURS)))
    response = client.get(url("overview", period="month"))
    assert response["Location"] == url("commune", OURS, period="month")
    client.force_login(our_team.leader_user)
    assert client.get(url("overview"))["Location"] == url("team", our_team.pk)


@pytest.mark.django_db
def test_district_staff_see_the_province_totals_only_and_a_way_to_their_district(client, figures):
    client.force_login(district_staff(District.objects.get(code=OUR_DISTRICT)))
    html = client.get(url("overview", **Q1_2025)).content.decode()
    assert tile(html, "teams") == "6"  # the province's
    assert 'id="districts-heading"' not in html
    assert "Phường Trần Tế Xương" not in html
    assert (
        url(
            "district", OUR_DISTRICT, period="custom", start="2025-01-01", end="2025-03-31"
        ).replace("&", "&amp;")
        in html
    )
    # The overview has no district filter for them: the parameter is left aside...
    other = client.get(url("overview", district=THEIR_DISTRICT)).content.decode()
    assert "Phường Trần Tế Xương" not in other
    # ...and another district's table is not theirs to export.
    assert client.get(export_url("communes.csv", district=THEIR_DISTRICT)).status_code == 404


@pytest.mark.django_db
def test_a_district_filter_outside_the_list_is_an_error_not_a_crash(client, figures, provincial):
    client.force_login(provincial)
    response = client.get(url("overview", district=999), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


# --- Exports --------------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.django_db
def test_the_districts_export_totals_equal_the_page(client, figures, provincial):
    client.force_login(provincial)
    response = client.get(export_url("districts.csv", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = csv_rows(response)
    assert rows[0][:3] == ["Code", "District", "Active teams"]
    assert len(rows) == 1 + 10 + 1 + 1
    assert rows[-2] == ["", "Province level, not in any district", *[""] * 7, "1"]
    assert rows[-1] == ["", "Total", "6", "37", "930", "3000", "31.0", "1900", "1390", "4"]
    ours = next(row for row in rows if row[0] == str(OUR_DISTRICT))
    assert ours[2:] == ["2", "10", "850", "1000", "85.0", "1800", "1300", "3"]


@pytest.mark.django_db
def test_the_communes_export_is_ranked_and_flags_the_lowest(client, figures, provincial):
    client.force_login(provincial)
    response = client.get(
        export_url("communes.xlsx", district=OUR_DISTRICT, **Q1_2025), HTTP_ACCEPT_LANGUAGE="en"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:4] == (1, OURS, "Xã Hải Đông", "Huyện Hải Hậu")
    assert len(rows) == 1 + 34 + 1 + 1
    assert rows[-2][2] == "District level, not in any commune"
    assert rows[-2][4:12] == (None,) * 7 + (1,)  # empty cells, not zeros
    assert rows[-1][2] == "Total"
    assert rows[-1][4:12] == (2, 10, 850, 1000, 85.0, 1800, 1300, 3)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "query", "expected_last"),
    [
        ("trend", {}, ["Total", "1900", "930"]),
        ("services", {}, None),
        ("readiness", {"district": OUR_DISTRICT}, None),
        ("teams", {"commune": OURS}, ["Total", "", "1500", "900", "1800", "850", ""]),
        ("hamlets", {"commune": OURS}, ["Total", "600", "1500", "600", "900"]),
    ],
)
def test_each_table_exports_with_the_page_s_figures(
    client, figures, provincial, table, query, expected_last
):
    client.force_login(provincial)
    response = client.get(export_url(f"{table}.csv", **query, **Q1_2025), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = csv_rows(response)
    if expected_last:
        assert rows[-1] == expected_last
    if table == "services":
        assert ["Mobile banking and cashless payment", "1234"] in rows
        assert ["E-commerce", "750"] in rows
    if table == "readiness":
        assert ["Has a smartphone", "800", "1000", "80.0"] in rows


@pytest.mark.django_db
def test_unknown_tables_and_formats_are_not_found(client, figures, provincial):
    client.force_login(provincial)
    assert client.get(export_url("members.csv")).status_code == 404
    assert client.get(export_url("districts.pdf")).status_code == 404
    # A table the place's page does not show.
    assert client.get(export_url("teams.csv")).status_code == 404
    assert client.get(export_url("districts.csv", commune=OURS)).status_code == 404


# --- Speed ----------------------------------------------------------------------------------

# The overview for provincial staff, the first page after a roll-up:
#   2  session, user
#   2  the user's permissions (the menu, the tables' key), from the user's groups: the
#      user's first request reads them, the later ones find them in the cache
#   1  the roll-up state (cached by the roll-up too; deleted here to count it)
#   2  the units (communes with their districts; services), cached per roll-up version
#   1  CommuneDay grouped by commune
#   1  TrainingDay grouped by level and place
#   1  monthly trend (CommuneDay grouped by month)
#   1  visits by service: each district's DistrictDayService totals at the period's ends
#   3  the place's year, cached per roll-up version: TrainingYear (officials trained),
#      the year's targets, CommuneReadiness grouped by item
OVERVIEW_UNCACHED = 14
# A period never asked before, of a year already shown since the roll-up: session, user
# and the period's four reads (CommuneDay, TrainingDay, trend, services).
OVERVIEW_NEW_PERIOD = 6
# Cached: session, user; no summary query at all (nor the permissions, kept by the first).
OVERVIEW_CACHED = 2


def _warm_demo_flag(client) -> None:
    # The demo ribbon's flag is cached for every page; keep it out of the count.
    demo_data_present()


@pytest.mark.django_db
def test_the_overview_makes_a_fixed_number_of_queries(
    client, figures, provincial, django_assert_num_queries
):
    client.force_login(provincial)
    _warm_demo_flag(client)
    cache.delete(STATE_CACHE_KEY)
    publish(version=2)  # a new version: nothing cached for it
    with django_assert_num_queries(OVERVIEW_UNCACHED):
        client.get(url("overview", **Q1_2025))
    with django_assert_num_queries(OVERVIEW_CACHED):
        client.get(url("overview", **Q1_2025))
    with django_assert_num_queries(OVERVIEW_NEW_PERIOD):
        client.get(url("overview", **JANUARY_2025))


@pytest.mark.django_db
def test_a_cached_page_asks_redis_once(
    client, figures, provincial, redis_cache, redis_commands, django_assert_num_queries
):
    """With the production cache: the figures' state, the permissions and the demo flag
    in one round trip (core.cache.read_ahead), the units and the rendered tables from
    the process's copies; the database for the session and the user only."""
    client.force_login(provincial)
    publish(version=2)
    first = client.get(url("overview", **Q1_2025))
    redis_commands.clear()
    with django_assert_num_queries(OVERVIEW_CACHED):
        again = client.get(url("overview", **Q1_2025))
    assert redis_commands == ["MGET"]
    assert again.content == first.content.replace(
        first.context["csrf_token"].encode(), again.context["csrf_token"].encode()
    )


@pytest.mark.django_db
def test_the_communes_page_costs_what_the_overview_costs_and_shares_its_figures(
    client, figures, provincial, django_assert_num_queries
):
    client.force_login(provincial)
    _warm_demo_flag(client)
    publish(version=2)
    with django_assert_num_queries(OVERVIEW_UNCACHED):
        client.get(url("communes", **Q1_2025))
    # The overview of the same filters renders its tables from the same figures.
    with django_assert_num_queries(OVERVIEW_CACHED):
        assert client.get(url("overview", **Q1_2025)).status_code == 200
    with django_assert_num_queries(OVERVIEW_NEW_PERIOD):
        client.get(url("communes", **JANUARY_2025))


@pytest.mark.django_db
def test_the_overview_makes_the_same_queries_for_more_data(client, figures, provincial):
    client.force_login(provincial)
    _warm_demo_flag(client)
    client.get(url("overview", **Q1_2025))  # the user's permissions, read once and kept
    publish(version=2)
    with CaptureQueriesContext(connection) as few:
        client.get(url("overview", **Q1_2025))
    for commune in Commune.objects.all()[:60]:
        for day in (dt.date(2025, 1, 2), dt.date(2025, 2, 3), dt.date(2025, 3, 4)):
            commune_day(commune, day, visits=5, households_first=3, teams_formed=1)
    publish(version=3)
    with CaptureQueriesContext(connection) as many:
        client.get(url("overview", **Q1_2025))
    assert len(few) == len(many)


# The other pages, not cached (a new roll-up version), each with the 2 queries of the
# session and user, 1 of the roll-up state, 2 of the units and 2 of the menu's permissions
# (each user's first request), then the same page for a new period of the same year, with
# the 2 of the session and user. The place's year (TrainingYear, targets, readiness: 3)
# is read once per roll-up version.
# District page for its staff: + CommuneDay, TrainingDay (with the district's own
# trainings by audience), trend, services, and the year.
DISTRICT_UNCACHED = 7 + 4 + 3
DISTRICT_NEW_PERIOD = 2 + 4
# Commune page for its official (whose scope's district comes with the user): +
# CommuneDay, TrainingDay, trend, services, hamlets and teams, and the year.
COMMUNE_UNCACHED = 7 + 6 + 3
COMMUNE_NEW_PERIOD = 2 + 6
# Team page for its leader: + the scope's teams (kept in the cache after the user's first
# request), the team, its period's sums, its totals and its monthly trend.
TEAM_UNCACHED = 7 + 5
TEAM_NEW_PERIOD = 2 + 4


@pytest.mark.django_db
def test_the_other_pages_make_a_fixed_number_of_queries(
    client, figures, our_team, django_assert_num_queries
):
    pages = [
        (
            district_staff(District.objects.get(code=OUR_DISTRICT)),
            ("district", OUR_DISTRICT),
            DISTRICT_UNCACHED,
            DISTRICT_NEW_PERIOD,
        ),
        (
            commune_official(Commune.objects.get(code=OURS)),
            ("commune", OURS),
            COMMUNE_UNCACHED,
            COMMUNE_NEW_PERIOD,
        ),
        (our_team.leader_user, ("team", our_team.pk), TEAM_UNCACHED, TEAM_NEW_PERIOD),
    ]
    for version, (user, page, uncached, new_period) in enumerate(pages, start=2):
        client.force_login(user)
        _warm_demo_flag(client)
        publish(version=version)
        with django_assert_num_queries(uncached):
            client.get(url(*page, **Q1_2025))
        with django_assert_num_queries(new_period):
            client.get(url(*page, **JANUARY_2025))


@pytest.mark.django_db
def test_the_menu_and_the_demo_ribbon_make_no_query(
    client, figures, our_team, django_assert_num_queries
):
    """A page seen before costs the session and the user, whoever reads it: the menu
    comes from the role's cached permissions, the ribbon from the cached demo flag, a
    commune official's scope from the user's own row and a team leader's from the
    cache. A team's page also reads the team."""
    pages = [
        (province_staff(Province.objects.get()), url("overview"), 2),
        (district_staff(District.objects.get(code=OUR_DISTRICT)), url("district", OUR_DISTRICT), 2),
        (commune_official(Commune.objects.get(code=OURS)), url("commune", OURS), 2),
        (our_team.leader_user, url("team", our_team.pk), 3),
    ]
    for user, page, queries in pages:
        client.force_login(user)
        client.get(page)
        with django_assert_num_queries(queries):
            html = client.get(page).content.decode()
        assert 'class="site-nav"' in html


@pytest.mark.django_db
def test_the_demo_flag_is_read_in_one_query_and_kept(divisions, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert demo_data_present() is False
    with django_assert_num_queries(0):
        assert demo_data_present() is False
    HamletFactory(commune=Commune.objects.get(code=OURS), is_demo=True)
    demo_data_changed()
    with django_assert_num_queries(1):
        assert demo_data_present() is True


@pytest.mark.django_db
def test_a_new_roll_up_shows_new_figures_and_until_then_the_cached_ones(
    client, figures, provincial, ours
):
    client.force_login(provincial)
    assert tile(client.get(url("overview", **Q1_2025)).content.decode(), "teams") == "6"
    commune_day(ours, dt.date(2025, 3, 20), teams_formed=4)
    # The same roll-up version: the cached figures.
    assert tile(client.get(url("overview", **Q1_2025)).content.decode(), "teams") == "6"
    publish(version=2)
    assert tile(client.get(url("overview", **Q1_2025)).content.decode(), "teams") == "10"


@pytest.mark.django_db
def test_the_cached_figures_are_per_language(client, figures, provincial):
    client.force_login(provincial)
    english = client.get(url("overview", **Q1_2025), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    vietnamese = client.get(url("overview", **Q1_2025), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Mobile banking and cashless payment" in english
    assert "1,234" in english and "1.234" in vietnamese


@pytest.mark.django_db
def test_a_page_seen_before_is_served_from_its_rendered_tables(
    client, figures, provincial, monkeypatch
):
    """The second request of the same page and filters takes its rendered tables from
    the cache: its figures are not even loaded, and the HTML is the same."""
    from dashboard.selectors import units

    client.force_login(provincial)
    first = client.get(url("overview", **Q1_2025)).content.decode()
    loaded = []
    real = units._cached
    monkeypatch.setattr(
        units, "_cached", lambda key, compute: loaded.append(key) or real(key, compute)
    )
    again = client.get(url("overview", **Q1_2025)).content.decode()
    assert not [key for key in loaded if ":html:" not in key and not key.endswith(":units")]
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", again) == strip.sub("", first)
    # Another filter is another page.
    other = client.get(url("overview", period="year", district=OUR_DISTRICT)).content.decode()
    assert strip.sub("", other) != strip.sub("", first)


# --- The rendered tables, shared by scope, role and language ----------------------------------

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "dashboard"


def tables_key(response) -> str:
    return response.context["tables_key"]


def loads_figures(client, page: str) -> bool:
    """Whether a page's request read any summary table (its tables were not cached)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    return any('"dashboard_' in query["sql"] for query in queries.captured_queries)


@pytest.mark.django_db
def test_officials_of_the_same_commune_share_the_rendered_tables(client, figures, ours):
    first, second = commune_official(ours), commune_official(ours)
    page = url("commune", OURS, **Q1_2025)
    client.force_login(first)
    assert loads_figures(client, page)
    key = tables_key(client.get(page))
    client.force_login(second)
    assert not loads_figures(client, page)
    assert tables_key(client.get(page)) == key
    # Provincial staff share theirs with each other, not with the officials.
    client.force_login(province_staff(Province.objects.get()))
    provincial_key = tables_key(client.get(page))
    client.force_login(province_staff(Province.objects.get()))
    assert tables_key(client.get(page)) == provincial_key != key


@pytest.mark.django_db
def test_another_scope_never_gets_the_tables_rendered_for_one(client, figures, provincial, ours):
    page = url("commune", OURS, **Q1_2025)
    client.force_login(provincial)
    district_link = f'href="/dashboard/district/{OUR_DISTRICT}/?'
    assert district_link in client.get(page).content.decode()
    # The official of the same commune has no way up to the district's page.
    client.force_login(commune_official(ours))
    assert district_link not in client.get(page).content.decode()

    overview = url("overview", **Q1_2025)
    client.force_login(provincial)
    assert 'id="districts-heading"' in client.get(overview).content.decode()
    # District staff, at the same address, see the province's totals and their own district.
    ours_link = f"/dashboard/district/{OUR_DISTRICT}/?"
    theirs_link = f"/dashboard/district/{THEIR_DISTRICT}/?"
    client.force_login(district_staff(District.objects.get(code=OUR_DISTRICT)))
    html = client.get(overview).content.decode()
    assert 'id="districts-heading"' not in html
    assert ours_link in html and theirs_link not in html
    client.force_login(district_staff(District.objects.get(code=THEIR_DISTRICT)))
    html = client.get(overview).content.decode()
    assert theirs_link in html and ours_link not in html


@pytest.mark.django_db
def test_links_a_permission_shows_are_never_served_to_a_user_without_it(client, figures):
    targets = reverse("dashboard:target_list")
    overview = url("overview", **Q1_2025)
    keeper = province_staff(Province.objects.get())
    client.force_login(keeper)
    assert targets in client.get(overview).content.decode()
    # Provincial staff whose role lost the targets' permissions: the same scope.
    reader = province_staff(Province.objects.get())
    reader.groups.clear()
    client.force_login(reader)
    response = client.get(overview)
    assert response.status_code == 200
    assert targets not in response.content.decode()
    assert reverse("dashboard:indicator_list") not in response.content.decode()
    # And the other way round, on a page nobody has rendered yet.
    client.force_login(reader)
    assert targets not in client.get(url("overview", **JANUARY_2025)).content.decode()
    client.force_login(keeper)
    assert targets in client.get(url("overview", **JANUARY_2025)).content.decode()


@pytest.mark.django_db
def test_each_language_gets_the_tables_rendered_in_it(client, figures, provincial):
    client.force_login(provincial)
    page = url("overview", **Q1_2025)
    vietnamese = client.get(page, HTTP_ACCEPT_LANGUAGE="vi")
    english = client.get(page, HTTP_ACCEPT_LANGUAGE="en")
    assert tables_key(vietnamese) != tables_key(english)
    with translation.override("vi"):
        heading = str(translation.gettext("Communes ranked by coverage"))
    assert heading != "Communes ranked by coverage"
    assert heading in vietnamese.content.decode()
    assert "Communes ranked by coverage" in english.content.decode()
    assert heading not in english.content.decode()
    assert tile(english.content.decode(), "residents_helped") == "1,390"
    assert tile(vietnamese.content.decode(), "residents_helped") == "1.390"


@pytest.mark.django_db
def test_the_tables_key_names_the_address_the_language_the_scope_and_the_permissions(
    rf, ours, theirs
):
    """The key itself, apart from the figures' (which names a scope and language too)."""
    from accounts.models import User
    from dashboard.views import _tables_key

    figures_named = SimpleNamespace(cache_key="dashboard:1:figures")

    def key(user, *, language="vi", path=None, late=False) -> str:
        request = rf.get(path or url("commune", OURS))
        request.user = User.objects.get(pk=user.pk)  # as a request loads it
        with translation.override(language):
            return _tables_key(request, "dashboard/commune.html", figures_named, late=late)

    official = commune_official(ours)
    assert key(official) == key(commune_official(ours))
    assert key(official) != key(commune_official(theirs))
    assert key(official) != key(district_staff(ours.district))
    assert key(official) != key(official, language="en")
    assert key(official) != key(official, path=url("commune", OURS, period="month"))
    assert key(official) != key(official, late=True)
    keeper = province_staff(Province.objects.get())
    reader = province_staff(Province.objects.get())
    reader.groups.clear()
    assert key(keeper) != key(reader)
    assert key(keeper) == key(province_staff(Province.objects.get()))


def test_every_permission_the_dashboards_tables_ask_is_in_their_key():
    """The cached part of a dashboard page may show what a permission allows: then the
    permission must be part of the key, or a user without it would be served the links."""
    from dashboard.views import TABLES_PERMISSIONS

    pages = [*TEMPLATES.glob("*.html"), *TEMPLATES.glob("includes/*.html")]
    asked = set()
    for page in pages:
        text = page.read_text()
        asked |= {".".join(found) for found in re.findall(r"perms\.(\w+)\.(\w+)", text)}
        # Nothing else of the user: the key names the scope and these permissions only.
        assert not re.search(r"\{[{%][^}]*\b(user|request)\b", text), page.name
    assert asked
    assert asked <= set(TABLES_PERMISSIONS)


@pytest.mark.slow  # starts a redis-server of its own and stops it: a fault test
@pytest.mark.django_db
def test_with_the_cache_s_redis_hung_a_page_waits_out_one_timeout_not_one_per_call(
    client, figures, provincial, settings, caplog
):
    from config.tests.faults import private_redis

    client.force_login(provincial)
    with private_redis() as redis_server:
        # The production cache (core/cache.py) on a Redis of the test's own, stopped.
        settings.CACHES = {
            "default": {
                "BACKEND": "core.cache.TolerantRedisCache",
                "LOCATION": redis_server.cache_url,
                "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
            }
        }
        redis_server.pause()
        started = time.monotonic()
        with caplog.at_level(logging.INFO):
            page = client.get(url("overview", **Q1_2025))
            seconds = time.monotonic() - started
            again = client.get(url("overview", **Q1_2025))
    assert page.status_code == 200
    assert tile(page.content.decode(), "teams") == "6"
    # A page makes about ten cache calls: without the breaker, ten timeouts.
    assert seconds < 4
    assert again.status_code == 200 and tile(again.content.decode(), "teams") == "6"
    # One line for the outage, without a traceback; none per cache miss.
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage().startswith("cache unavailable (TimeoutError")
    assert warning.exc_info is None
