"""Where each role lands, after logging in and on the home page (config/landing.py): a
team leader on their team's page, a commune official on their commune's dashboard,
district staff on their district's, provincial staff and administrators on the
province's; a login that sees nothing stays on the home page."""

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, District, Province
from dashboard.rollup import rollup_full
from outreach.models import Member, Team
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

HAI_DONG, HAI_HAU = 14269, 366
PASSWORD = "correct horse battery staple"  # UserFactory's


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=HAI_DONG)


@pytest.fixture
def admin(divisions):
    return UserFactory(is_superuser=True, is_staff=True)


def _team_with_leader(commune, admin, *, name: str, phone: str) -> Team:
    hamlet = HamletFactory(commune=commune, name=f"Thôn {name}")
    team = TeamFactory(commune=commune, hamlet=hamlet, name=f"Tổ {name}")
    member = MemberFactory(team=team, role=Member.Role.LEADER, phone=phone)
    team.leader_user, team.leader_password = member_login_create(by=admin, member=member)
    team.leader = member
    return team


@pytest.fixture
def our_team(hai_dong, admin) -> Team:
    return _team_with_leader(hai_dong, admin, name="Đông", phone="0912000111")


def _visit(team: Team, address: str, day: dt.date) -> None:
    visit_record(
        by=team.leader_user,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=team.hamlet,
        address_label=address,
        data=VisitData(visited_on=day, members=[team.leader], residents_helped=2),
    )


def _log_in(client: Client, username: str, password: str = PASSWORD, **query):
    url = reverse("login") + (f"?next={query['next']}" if "next" in query else "")
    return client.post(url, {"username": username, "password": password})


# --- Where each role lands ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_team_leader_lands_on_their_team_s_page_after_logging_in(client, our_team):
    response = _log_in(client, our_team.leader_user.username, our_team.leader_password)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert page.templates[0].name == "team_home.html"
    assert "Tổ Đông" in page.content.decode()


@pytest.mark.django_db
def test_a_commune_official_lands_on_their_commune_s_dashboard(client, hai_dong):
    official = commune_official(hai_dong)
    commune_page = reverse("dashboard:commune", args=[HAI_DONG])

    assert _log_in(client, official.username)["Location"] == commune_page
    # And the home page sends them there too, as it does everyone with an area.
    assert client.get(reverse("home"))["Location"] == commune_page
    assert client.get(commune_page).status_code == 200


@pytest.mark.django_db
def test_district_staff_land_on_their_district_s_dashboard_not_the_province_s(client, divisions):
    staff = district_staff(District.objects.get(code=HAI_HAU))
    district_page = reverse("dashboard:district", args=[HAI_HAU])

    assert _log_in(client, staff.username)["Location"] == district_page
    assert client.get(reverse("home"))["Location"] == district_page
    assert client.get(district_page).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["provincial staff", "admin"])
def test_provincial_staff_and_admins_land_on_the_province_s_dashboard(client, admin, who):
    user = province_staff(Province.objects.get()) if who == "provincial staff" else admin

    assert _log_in(client, user.username)["Location"] == reverse("dashboard:overview")
    assert client.get(reverse("home"))["Location"] == reverse("dashboard:overview")


@pytest.mark.django_db
def test_a_login_without_an_area_stays_on_the_home_page_which_says_why(client, divisions):
    nobody = UserFactory()

    assert _log_in(client, nobody.username)["Location"] == reverse("home")
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Your login has no scope yet" in page.content.decode()


@pytest.mark.django_db
def test_a_leader_whose_team_was_dissolved_sees_the_home_page_not_an_error(client, our_team):
    our_team.dissolved_on = timezone.localdate()
    our_team.save(update_fields=["dissolved_on"])
    client.force_login(our_team.leader_user)

    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert "Your login has no scope yet" in page.content.decode()


@pytest.mark.django_db
def test_the_login_still_goes_where_next_says(client, hai_dong):
    official = commune_official(hai_dong)

    response = _log_in(client, official.username, next=reverse("outreach:team_list"))

    assert response["Location"] == reverse("outreach:team_list")


@pytest.mark.django_db
def test_a_next_to_another_site_is_ignored_and_the_user_lands_on_their_page(client, hai_dong):
    official = commune_official(hai_dong)

    response = _log_in(client, official.username, next="https://example.com/")

    assert response["Location"] == reverse("dashboard:commune", args=[HAI_DONG])


@pytest.mark.django_db
def test_a_signed_in_user_opening_the_login_page_is_sent_to_their_page(client, divisions):
    client.force_login(district_staff(District.objects.get(code=HAI_HAU)))

    response = client.get(reverse("login"))

    assert response["Location"] == reverse("dashboard:district", args=[HAI_HAU])


# --- A team leader's page ----------------------------------------------------------------------


def _our_visits(today: dt.date) -> list[tuple[str, dt.date]]:
    """Our team's visits: two today, one earlier this week (unless today is a Monday),
    one last week. Another team of the commune visits today too (week_of_work)."""
    week_start = _week_start(today)
    return [
        ("Số 1, ngõ 2", today),
        ("Số 3, ngõ 2", today),
        *([("Số 5, ngõ 4", week_start)] if week_start < today else []),
        ("Số 9, ngõ 9", week_start - dt.timedelta(days=1)),
    ]


def _week_start(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=today.weekday())


@pytest.fixture
def week_of_work(our_team, hai_dong, admin):
    """Our visits and the neighbours' visit, rolled up into the figures. Today is read
    when the test runs, never when the module is collected: a run across midnight (local
    time) would otherwise log "today's" visits on yesterday."""
    today = timezone.localdate()
    for address, day in _our_visits(today):
        _visit(our_team, address, day)
    neighbours = _team_with_leader(hai_dong, admin, name="Tây", phone="0912000222")
    _visit(neighbours, "Số 7, ngõ 7", today)
    rollup_full()
    our_team.today = today
    return our_team


def _section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"')[1].split("</section>")[0]


@pytest.mark.django_db
def test_a_leader_s_page_puts_the_visit_button_first_then_the_visits_then_the_figures(
    client, week_of_work
):
    client.force_login(week_of_work.leader_user)

    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    main = html.split("<main")[1]

    button = main.index(f'href="{reverse("outreach:visit_new")}"')
    assert button < main.index('id="today-heading"') < main.index('id="week-heading"')
    assert main.index('id="week-heading"') < main.index('id="figures-heading"')
    # Nothing else to follow before the button: it is the page's first link.
    assert re.findall(r"<a [^>]*href=\"([^\"]+)\"", main)[0] == reverse("outreach:visit_new")


@pytest.mark.django_db
def test_a_leader_s_page_lists_today_s_and_this_week_s_visits_of_their_team_only(
    client, week_of_work
):
    client.force_login(week_of_work.leader_user)

    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    today = _section(html, "today-heading")
    assert "2 visits" in today
    assert "Số 1, ngõ 2" in today and "Số 3, ngõ 2" in today
    week = _section(html, "week-heading")
    visits = _our_visits(week_of_work.today)
    this_week = [address for address, day in visits if day >= _week_start(week_of_work.today)]
    assert f": {len(this_week)} visits" in week
    assert ("Số 5, ngõ 4" in this_week) == ("Số 5, ngõ 4" in week)
    # Last week's, and another team's, are not this week's work of this team.
    assert "Số 9, ngõ 9" not in html
    assert "Số 7, ngõ 7" not in html


@pytest.mark.django_db
def test_a_leader_s_page_shows_the_team_s_figures_of_the_month_and_nothing_province_wide(
    client, week_of_work
):
    client.force_login(week_of_work.leader_user)

    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    figures = _section(html, "figures-heading")
    tiles = dict(
        re.findall(r'data-figure="(\w+)">.*?<span class="tile-value">([^<]*)</span>', figures, re.S)
    )
    visits = _our_visits(week_of_work.today)
    month = week_of_work.today.replace(day=1)
    this_month = [day for _address, day in visits if day.replace(day=1) == month]
    assert tiles["visits"] == str(len(this_month))
    assert tiles["visits_total"] == str(len(visits))
    assert tiles["households_reached"] == str(len(visits))
    assert tiles["residents_helped"] == str(2 * len(this_month))
    assert reverse("dashboard:team", args=[week_of_work.pk]) in figures
    # Neither the province's districts nor another district's name.
    assert "Districts" not in html
    assert "Thành phố Nam Định" not in html


@pytest.mark.django_db
def test_a_leader_s_page_records_that_the_visits_addresses_were_viewed(client, week_of_work):
    client.force_login(week_of_work.leader_user)

    client.get(reverse("home"))

    entry = AuditEntry.objects.filter(action=AuditEntry.Action.VIEWED).get()
    assert entry.actor == week_of_work.leader_user and entry.subject == reverse("home")


@pytest.mark.django_db
def test_a_leader_s_page_makes_a_fixed_number_of_queries(
    client, week_of_work, django_assert_num_queries
):
    client.force_login(week_of_work.leader_user)
    client.get(reverse("home"))  # the figures, units and permissions are cached now

    # Session, user, the week's counts, its visits, the audit entry, the team.
    with django_assert_num_queries(6):
        client.get(reverse("home"))
