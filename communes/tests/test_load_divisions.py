from collections import Counter

import pytest
from django.core.management import call_command

from communes.models import Commune, District, Province
from communes.services import divisions_load

# These tests load the official list into an empty database, as `make run` does on a new
# site; the test database holds the communes already (conftest.py), so each test starts
# without them (and its rollback puts them back).
pytestmark = pytest.mark.usefixtures("no_divisions")


def _snapshot():
    return {
        "province": list(Province.objects.values_list("code", "name", "name_folded")),
        "districts": sorted(District.objects.values_list("code", "name", "kind", "province_id")),
        "communes": sorted(
            Commune.objects.values_list(
                "code", "name", "kind", "district_id", "name_folded", *Commune.FIGURE_FIELDS
            )
        ),
    }


@pytest.mark.django_db
def test_load_divisions_yields_the_province_its_10_districts_and_226_communes():
    call_command("load_divisions")

    province = Province.objects.get()
    assert (province.code, province.name) == (36, "Tỉnh Nam Định")
    assert District.objects.count() == 10
    assert Commune.objects.count() == 226
    assert Counter(Commune.objects.values_list("kind", flat=True)) == {
        "rural_commune": 188,
        "ward": 22,
        "township": 16,
    }
    codes = set(District.objects.values_list("code", flat=True))
    assert codes == {356, 358, 359, 360, 361, 362, 363, 364, 365, 366}
    assert District.objects.get(kind="city").name == "Thành phố Nam Định"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "name", "kind", "district_code"),
    [
        (13633, "Phường Hạ Long", "ward", 356),
        (13636, "Phường Trần Tế Xương", "ward", 356),
        (13645, "Phường Quang Trung", "ward", 356),
        (13768, "Xã Quang Trung", "rural_commune", 359),
        (13894, "Thị trấn Rạng Đông", "township", 361),
        (14215, "Thị trấn Yên Định", "township", 366),
        (14269, "Xã Hải Đông", "rural_commune", 366),
    ],
)
def test_official_codes_and_full_names_are_loaded(code, name, kind, district_code):
    divisions_load()
    commune = Commune.objects.select_related("district").get(code=code)
    assert (commune.name, commune.kind, commune.district.code) == (name, kind, district_code)


@pytest.mark.django_db
def test_running_load_divisions_twice_changes_nothing():
    first = divisions_load()
    before = _snapshot()
    second = divisions_load()

    assert first.created == 1 + 10 + 226
    assert (second.created, second.updated, second.unchanged) == (0, 0, 237)
    assert _snapshot() == before


@pytest.mark.django_db
def test_a_renamed_unit_gets_its_official_name_back_and_keeps_its_figures():
    divisions_load()
    Commune.objects.filter(code=14269).update(name="Hai Dong (typo)", households=4321)

    result = divisions_load()

    commune = Commune.objects.get(code=14269)
    assert result.updated == 1
    assert (commune.name, commune.name_folded, commune.households) == (
        "Xã Hải Đông",
        "xa hai dong",
        4321,
    )


@pytest.mark.django_db
def test_names_sort_in_vietnamese_alphabetical_order():
    divisions_load()
    names = list(Commune.objects.filter(district__code=366).values_list("name", flat=True))

    # Vietnamese puts Đ right after D; byte order would put it after every Latin letter.
    assert names.index("Xã Hải Châu") < names.index("Xã Hải Đông") < names.index("Xã Hải Giang")
    assert names.index("Xã Hải Đông") < names.index("Xã Hải Đường")
    assert names.index("Xã Hải An") < names.index("Xã Hải Anh")
    # Kinds group by their word: "Thị trấn …" before "Xã …".
    assert names.index("Thị trấn Yên Định") < names.index("Xã Hải An")
