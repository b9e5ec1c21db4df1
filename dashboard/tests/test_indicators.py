"""Provincial indicators: entered a year at a time by provincial staff, shown with their
history."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import district_staff, province_staff
from communes.models import District, Province
from dashboard import services
from dashboard.models import ProvincialIndicator


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def provincial(divisions):
    return province_staff(Province.objects.get())


@pytest.fixture
def district_user(divisions):
    return district_staff(District.objects.get(code=366))


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides) -> dict:
    data = {
        "year": "2024",
        "dti_rank": "9",
        "dti_government_rank": "",
        "dti_society_rank": "",
        "dti_economy_rank": "",
        "ecommerce_revenue": "120.5",
        "platform_shops": "300",
        "platform_products": "",
        "enterprises_on_platforms": "",
        "enterprises_econtract": "",
        "source": "Báo cáo của Sở TT&TT",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_provincial_staff_enter_a_year_and_see_it_in_the_history(provincial):
    services.indicator_save(by=None, year=2023, dti_rank=11, platform_shops=254)
    client = _client(provincial)

    response = client.post(reverse("dashboard:indicator_create"), _form())

    assert response.status_code == 302
    indicator = ProvincialIndicator.objects.get(year=2024)
    assert indicator.dti_rank == 9
    assert indicator.ecommerce_revenue_vnd == 120_500_000_000
    assert indicator.platform_shops == 300
    assert indicator.updated_by == provincial
    assert not indicator.is_demo
    page = client.get(reverse("dashboard:indicator_list")).content.decode()
    assert page.index(">2024<") < page.index(">2023<")  # newest year first
    assert "up 2 places" in page  # 11th to 9th
    assert "+46" in page  # 254 shops to 300
    assert "120.5" in page
    assert "Báo cáo của Sở TT&amp;TT" in page


@pytest.mark.django_db
def test_a_change_is_only_shown_against_the_year_just_before(provincial):
    services.indicator_save(by=None, year=2020, dti_rank=11)
    services.indicator_save(by=None, year=2021, dti_rank=13)
    services.indicator_save(by=None, year=2023, dti_rank=5)

    page = _client(provincial).get(reverse("dashboard:indicator_list")).content.decode()

    assert "down 2 places" in page  # 2020 to 2021
    assert "up 8 places" not in page  # 2021 to 2023 skips a year


@pytest.mark.django_db
def test_bad_input_is_shown_with_the_errors_and_nothing_is_stored(provincial):
    response = _client(provincial).post(
        reverse("dashboard:indicator_create"),
        _form(dti_rank="70", platform_shops="-4", source="Nguồn đã nhập"),
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Please correct the marked fields." in content
    assert "Ensure this value is less than or equal to 63." in content
    assert "Ensure this value is greater than or equal to 0." in content
    assert 'value="70"' in content
    assert 'value="-4"' in content
    assert 'value="Nguồn đã nhập"' in content
    assert not ProvincialIndicator.objects.exists()


@pytest.mark.django_db
def test_a_year_already_entered_is_edited_not_added_again(provincial):
    services.indicator_save(by=None, year=2024, dti_rank=10)
    client = _client(provincial)

    response = client.post(reverse("dashboard:indicator_create"), _form(dti_rank="8"))

    assert "The indicators of 2024 are already entered: edit them instead." in (
        response.content.decode()
    )
    assert ProvincialIndicator.objects.get().dti_rank == 10

    edit_url = reverse("dashboard:indicator_edit", args=[2024])
    form = client.get(edit_url).content.decode()
    assert 'value="10"' in form
    data = _form(dti_rank="8")
    del data["year"]
    assert client.post(edit_url, data).status_code == 302
    indicator = ProvincialIndicator.objects.get()
    assert (indicator.year, indicator.dti_rank) == (2024, 8)


@pytest.mark.django_db
def test_a_demo_year_becomes_real_once_staff_correct_it(provincial):
    services.indicator_save(by=None, year=2022, dti_rank=12, is_demo=True)
    data = _form(dti_rank="12")
    del data["year"]
    _client(provincial).post(reverse("dashboard:indicator_edit", args=[2022]), data)
    assert ProvincialIndicator.objects.get().is_demo is False


@pytest.mark.django_db
def test_district_staff_cannot_see_or_enter_indicators(district_user):
    services.indicator_save(by=None, year=2021, dti_rank=11)
    client = _client(district_user)
    for url in (
        reverse("dashboard:indicator_list"),
        reverse("dashboard:indicator_create"),
        reverse("dashboard:indicator_edit", args=[2021]),
    ):
        assert client.get(url).status_code == 403
    assert client.post(reverse("dashboard:indicator_create"), _form()).status_code == 403
    with pytest.raises(PermissionDenied):
        services.indicator_save(by=district_user, year=2025, dti_rank=1)
    assert ProvincialIndicator.objects.count() == 1


@pytest.mark.django_db
def test_the_history_page_makes_few_queries_however_many_years(
    provincial, django_assert_num_queries
):
    for year in range(2015, 2027):
        services.indicator_save(by=None, year=year, dti_rank=20 - (year - 2015))
    client = _client(provincial)
    client.get(reverse("dashboard:indicator_list"))

    # Session, user and the indicators (the permissions are in the cache since the first).
    with django_assert_num_queries(3):
        response = client.get(reverse("dashboard:indicator_list"))
    assert response.content.decode().count("up 1 place<") == 11
