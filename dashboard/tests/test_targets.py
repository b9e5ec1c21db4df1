"""The year's targets: the pace maths, the read side the dashboards use, and the pages
where provincial staff keep and split them."""

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, District, Province
from dashboard import services
from dashboard.models import Figure, Target
from dashboard.targets import BUILTIN_TARGETS, progress, targets_by_place, targets_for

YEAR = 2026
TEAMS, MEMBERS = Figure.TEAMS, Figure.MEMBERS
HOUSEHOLDS, RESIDENTS = Figure.HOUSEHOLDS_REACHED, Figure.RESIDENTS_HELPED


@pytest.fixture(autouse=True)
def _english(settings):
    # Messages are checked in their English source text.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def provincial(divisions):
    return province_staff(Province.objects.get())


@pytest.fixture
def hai_hau(divisions):
    return District.objects.get(code=366)


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=14269)


@pytest.fixture
def district_user(hai_hau):
    return district_staff(hai_hau)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _target(figure=TEAMS, value=2_000, year=YEAR, **place) -> Target:
    return services.target_save(by=None, year=year, figure=figure, value=value, **place)


# --- Progress and pace -------------------------------------------------------------------


def _progress(**overrides):
    values = {
        "figure": RESIDENTS,
        "current": 0,
        "at_year_start": 0,
        "year": 2026,
        "today": dt.date(2026, 7, 1),
        "target": 1_000,
    }
    values.update(overrides)
    return progress(**values)


def test_a_year_half_done_at_half_the_target_is_on_pace():
    # 1 July 2026 is day 182 of 365: 500 in 182 days, 183 days to go.
    result = _progress(current=500)
    assert result.share == 0.5
    assert result.projected == round(500 + 500 / 182 * 183) == 1_003
    assert result.on_pace is True


def test_a_year_half_done_at_a_third_of_the_target_is_behind():
    result = _progress(current=330)
    assert result.projected == round(330 + 330 / 182 * 183) == 662
    assert result.on_pace is False
    assert result.share == pytest.approx(0.33)


def test_the_pace_counts_only_this_years_gain_for_a_level():
    # 1,800 teams on 1 January, 1,900 now: 100 more in 182 days.
    result = _progress(figure=TEAMS, current=1_900, at_year_start=1_800, target=2_160)
    assert result.projected == round(1_900 + 100 / 182 * 183) == 2_001
    assert result.on_pace is False
    result = _progress(figure=TEAMS, current=2_100, at_year_start=1_800, target=2_160)
    assert result.on_pace is True


def test_a_past_year_ends_where_it_stood():
    result = _progress(year=2025, current=900, today=dt.date(2026, 3, 1))
    assert result.projected == 900
    assert result.on_pace is False
    assert _progress(year=2025, current=1_000, today=dt.date(2026, 3, 1)).on_pace is True


def test_a_year_not_begun_has_no_projection():
    result = _progress(year=2027, current=0)
    assert result.projected is None
    assert result.on_pace is None
    assert result.share == 0


def test_without_a_target_there_is_no_share_and_no_verdict():
    result = _progress(current=400, target=None)
    assert (result.share, result.on_pace) == (None, None)
    assert result.projected == round(400 + 400 / 182 * 183)


def test_on_the_first_day_the_day_itself_counts_and_the_last_day_projects_nothing_more():
    first = _progress(current=10, today=dt.date(2026, 1, 1))
    assert first.projected == 10 + 10 * 364
    last = _progress(current=999, today=dt.date(2026, 12, 31))
    assert last.projected == 999
    assert last.on_pace is False


def test_a_falling_level_projects_downwards_but_never_below_zero():
    result = _progress(figure=MEMBERS, current=100, at_year_start=1_000, target=500)
    assert result.projected == 0
    assert result.on_pace is False


# --- The read side -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_province_counts_against_the_campaign_until_its_own_target_is_entered(
    divisions, hai_hau, django_assert_num_queries
):
    _target(TEAMS, 2_200)
    _target(RESIDENTS, 50_000)
    _target(TEAMS, 250, district=hai_hau)
    _target(TEAMS, 1, year=YEAR - 1)

    with django_assert_num_queries(1):
        province = targets_for(YEAR)

    assert province == {
        **BUILTIN_TARGETS,
        TEAMS: 2_200,
        RESIDENTS: 50_000,
    }
    assert province[MEMBERS] == 16_000
    assert province[Figure.OFFICIALS_TRAINED] == 20_000
    assert province[HOUSEHOLDS] == 600_000
    with django_assert_num_queries(1):
        assert targets_for(YEAR, district_id=hai_hau.pk) == {TEAMS: 250}


@pytest.mark.django_db
def test_targets_by_place_lists_the_districts_or_communes_that_have_one(hai_hau, hai_dong):
    other = District.objects.get(code=356)
    _target(HOUSEHOLDS, 90_000, district=hai_hau)
    _target(HOUSEHOLDS, 80_000, district=other)
    _target(HOUSEHOLDS, 3_000, commune=hai_dong)
    _target(TEAMS, 300, district=hai_hau)

    assert targets_by_place(YEAR, HOUSEHOLDS, "district") == {
        hai_hau.pk: 90_000,
        other.pk: 80_000,
    }
    assert targets_by_place(YEAR, HOUSEHOLDS, "commune") == {hai_dong.pk: 3_000}
    assert targets_by_place(YEAR + 1, HOUSEHOLDS, "district") == {}


# --- The services ------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_provincial_staff_keep_targets(provincial, district_user, hai_dong):
    official = commune_official(hai_dong)
    for user in (district_user, official, UserFactory()):
        with pytest.raises(PermissionDenied):
            services.target_save(by=user, year=YEAR, figure=TEAMS, value=10)
    target = services.target_save(by=provincial, year=YEAR, figure=TEAMS, value=10)
    with pytest.raises(PermissionDenied):
        services.target_delete(by=district_user, target=target)
    assert Target.objects.get().updated_by == provincial


@pytest.mark.django_db
def test_a_second_target_for_the_same_place_is_refused(provincial, hai_hau):
    _target(TEAMS, 10, district=hai_hau)
    with pytest.raises(ValidationError) as error:
        services.target_save(by=provincial, year=YEAR, figure=TEAMS, value=20, district=hai_hau)
    assert error.value.messages == ["This figure already has a target for that year."]
    assert Target.objects.get().value == 10


@pytest.mark.django_db
def test_a_split_is_saved_whole_and_warns_when_the_parts_do_not_add_up(provincial, hai_hau):
    districts = list(District.objects.order_by("code"))
    _target(HOUSEHOLDS, 1_000)
    values = {d.pk: 100 for d in districts}

    result = services.targets_split(
        by=provincial, year=YEAR, figure=HOUSEHOLDS, level="district", values=values
    )

    assert result.saved == 10
    assert result.warning is None
    assert targets_by_place(YEAR, HOUSEHOLDS, "district") == values

    values[hai_hau.pk] = 150
    result = services.targets_split(
        by=provincial, year=YEAR, figure=HOUSEHOLDS, level="district", values=values
    )
    assert result.total == 1_050
    assert result.warning == "The parts add up to 1,050, not the 1,000 of the target they split."
    assert Target.objects.get(district=hai_hau, figure=HOUSEHOLDS).value == 150


@pytest.mark.django_db
def test_a_split_with_one_bad_place_stores_nothing(provincial, hai_hau):
    _target(HOUSEHOLDS, 500, district=hai_hau)
    other = District.objects.get(code=356)
    with pytest.raises(ValidationError):
        services.targets_split(
            by=provincial,
            year=YEAR,
            figure=HOUSEHOLDS,
            level="district",
            values={hai_hau.pk: 700, other.pk: 300, 999_999: 5},
        )
    assert list(Target.objects.values_list("district_id", "value")) == [(hai_hau.pk, 500)]


@pytest.mark.django_db
def test_splitting_to_communes_compares_with_their_districts_target(provincial, hai_hau):
    _target(TEAMS, 30, district=hai_hau)
    communes = list(Commune.objects.filter(district=hai_hau).order_by("code")[:3])
    result = services.targets_split(
        by=provincial,
        year=YEAR,
        figure=TEAMS,
        level="commune",
        values={c.pk: 10 for c in communes},
    )
    assert result.parent_target == 30
    assert result.warning is None


# --- The pages ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_provincial_staff_add_edit_and_delete_a_target(provincial, hai_hau):
    client = _client(provincial)

    response = client.post(
        reverse("dashboard:target_create"),
        {
            "year": YEAR,
            "figure": HOUSEHOLDS,
            "district": hai_hau.pk,
            "commune": "",
            "value": "90000",
        },
    )

    target = Target.objects.get()
    assert (target.year, target.figure, target.district, target.value) == (
        YEAR,
        HOUSEHOLDS,
        hai_hau,
        90_000,
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "Huyện Hải Hậu" in page.content.decode()
    assert "90,000" in page.content.decode()

    form = client.get(reverse("dashboard:target_edit", args=[target.pk]))
    assert 'value="90000"' in form.content.decode()
    client.post(
        reverse("dashboard:target_edit", args=[target.pk]),
        {
            "year": YEAR,
            "figure": HOUSEHOLDS,
            "district": hai_hau.pk,
            "commune": "",
            "value": "95000",
        },
    )
    target.refresh_from_db()
    assert target.value == 95_000

    confirm = client.get(reverse("dashboard:target_delete", args=[target.pk]))
    assert confirm.status_code == 200
    assert Target.objects.exists()
    client.post(reverse("dashboard:target_delete", args=[target.pk]))
    assert not Target.objects.exists()


@pytest.mark.django_db
def test_district_staff_and_officials_cannot_keep_targets(district_user, hai_dong, hai_hau):
    target = _target(TEAMS, 200, district=hai_hau)
    official = commune_official(hai_dong)
    urls = [
        reverse("dashboard:target_list"),
        reverse("dashboard:target_create"),
        reverse("dashboard:target_edit", args=[target.pk]),
        reverse("dashboard:target_delete", args=[target.pk]),
        reverse("dashboard:target_split"),
    ]
    for user in (district_user, official):
        client = _client(user)
        for url in urls:
            assert client.get(url).status_code == 403, url
        response = client.post(
            reverse("dashboard:target_edit", args=[target.pk]),
            {"year": YEAR, "figure": TEAMS, "district": hai_hau.pk, "value": "1"},
        )
        assert response.status_code == 403
        assert client.post(reverse("dashboard:target_delete", args=[target.pk])).status_code == 403
    target.refresh_from_db()
    assert target.value == 200
    anonymous = Client().get(reverse("dashboard:target_list"))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_adding_a_duplicate_target_says_so_and_keeps_the_input(provincial):
    _target(TEAMS, 2_000)
    response = _client(provincial).post(
        reverse("dashboard:target_create"),
        {"year": YEAR, "figure": TEAMS, "district": "", "commune": "", "value": "2345"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "This figure already has a target for that year." in content
    assert 'value="2345"' in content
    assert Target.objects.get().value == 2_000


@pytest.mark.django_db
def test_a_target_for_a_district_and_a_commune_at_once_is_refused(provincial, hai_hau, hai_dong):
    response = _client(provincial).post(
        reverse("dashboard:target_create"),
        {
            "year": YEAR,
            "figure": TEAMS,
            "district": hai_hau.pk,
            "commune": hai_dong.pk,
            "value": "12",
        },
    )
    assert response.status_code == 200
    assert "leave one of them empty" in response.content.decode()
    assert not Target.objects.exists()


@pytest.mark.django_db
def test_the_list_shows_the_campaign_targets_the_province_still_counts_against(
    provincial, hai_hau, django_assert_num_queries
):
    _target(TEAMS, 2_300)
    for commune in Commune.objects.filter(district=hai_hau):
        _target(HOUSEHOLDS, 1_000, commune=commune)
    client = _client(provincial)
    url = f"{reverse('dashboard:target_list')}?year={YEAR}"
    client.get(url)

    # Session, user (the permissions are in the cache since the first request); the
    # province's records, the count, the page.
    with django_assert_num_queries(5):
        response = client.get(url)

    content = response.content.decode()
    assert "2,300" in content
    # Members have no record yet: the campaign's 16,000 shows, teams' 2,160 no longer.
    assert "16,000" in content
    assert "2,160" not in content
    for commune in Commune.objects.filter(district=hai_hau):
        assert commune.name in content


@pytest.mark.django_db
def test_splitting_a_target_over_the_districts_by_hand(provincial, hai_hau):
    _target(HOUSEHOLDS, 600_000)
    districts = list(District.objects.order_by("code"))
    client = _client(provincial)
    url = f"{reverse('dashboard:target_split')}?year={YEAR}&figure={HOUSEHOLDS}&district="

    page = client.get(url)
    assert page.status_code == 200
    assert "600,000" in page.content.decode()
    data = {f"place_{d.pk}": "60000" for d in districts}
    data[f"place_{hai_hau.pk}"] = "70000"
    response = client.post(url, data, follow=True)

    assert targets_by_place(YEAR, HOUSEHOLDS, "district")[hai_hau.pk] == 70_000
    assert len(targets_by_place(YEAR, HOUSEHOLDS, "district")) == 10
    content = response.content.decode()
    assert "The parts add up to 610,000, not the 600,000 of the target they split." in content


@pytest.mark.django_db
def test_a_split_with_a_bad_number_stores_nothing_and_keeps_what_was_typed(provincial, hai_hau):
    communes = list(Commune.objects.filter(district=hai_hau).order_by("code"))
    client = _client(provincial)
    url = f"{reverse('dashboard:target_split')}?year={YEAR}&figure={TEAMS}&district={hai_hau.pk}"
    data = {f"place_{c.pk}": "9" for c in communes}
    data[f"place_{communes[1].pk}"] = "-3"

    response = client.post(url, data)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Ensure this value is greater than or equal to 0." in content
    assert 'value="-3"' in content
    # Only the split's own inputs: the district chooser's options carry primary keys, 9 among them.
    kept = re.findall(r'<input[^>]*name="place_\d+"[^>]*value="9"', content)
    assert len(kept) == len(communes) - 1
    assert not Target.objects.exists()


@pytest.mark.django_db
def test_an_emptied_place_loses_its_share_of_the_split(provincial, hai_hau):
    communes = list(Commune.objects.filter(district=hai_hau).order_by("code")[:2])
    _target(TEAMS, 5, commune=communes[0])
    _target(TEAMS, 6, commune=communes[1])
    values = {communes[0].pk: None, communes[1].pk: 8}

    result = services.targets_split(
        by=provincial, year=YEAR, figure=TEAMS, level="commune", values=values
    )

    assert (result.saved, result.removed) == (1, 1)
    assert targets_by_place(YEAR, TEAMS, "commune") == {communes[1].pk: 8}
