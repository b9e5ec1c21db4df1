import codecs
import csv
import io

import openpyxl
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from communes.models import Commune
from communes.resources import CommuneResource


@pytest.fixture
def superuser_client(client, divisions):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _changelist_names(superuser_client, q: str) -> list[str]:
    response = superuser_client.get(reverse("admin:communes_commune_changelist"), {"q": q})
    assert response.status_code == 200
    return [str(c) for c in response.context["cl"].result_list]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("tran te xuong", ["Phường Trần Tế Xương"]),
        ("TRẦN TẾ XƯƠNG", ["Phường Trần Tế Xương"]),
        ("hai dong", ["Xã Hải Đông"]),
        ("quang trung", ["Phường Quang Trung", "Xã Quang Trung"]),
        ("13636", ["Phường Trần Tế Xương"]),
    ],
)
def test_admin_search_ignores_diacritics_and_case(superuser_client, typed, expected):
    assert sorted(_changelist_names(superuser_client, typed)) == expected


@pytest.mark.django_db
def test_admin_search_finds_a_districts_communes_by_its_name_without_accents(superuser_client):
    names = _changelist_names(superuser_client, "giao thuy")
    expected = Commune.objects.filter(district__name="Huyện Giao Thủy").values_list(
        "name", flat=True
    )
    assert sorted(names) == sorted(expected)
    assert len(names) == 22


@pytest.mark.django_db
def test_the_commune_list_groups_the_figures_thousands(superuser_client):
    Commune.objects.filter(code=14269).update(population=1_234_567, households=16_003)
    response = superuser_client.get(reverse("admin:communes_commune_changelist"), {"q": "14269"})
    html = response.content.decode()
    assert '<td class="field-population_grouped">1.234.567</td>' in html
    assert '<td class="field-households_grouped">16.003</td>' in html


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["²", "9" * 5000])
def test_admin_search_for_digits_that_are_no_code_finds_nothing(superuser_client, typed):
    # str.isdigit() takes both for a code, which int() then could not read.
    assert _changelist_names(superuser_client, typed) == []


@pytest.mark.django_db
def test_admin_changelist_filters_by_district_kind_and_status(superuser_client):
    url = reverse("admin:communes_commune_changelist")
    district = Commune.objects.get(code=14269).district_id
    response = superuser_client.get(
        url, {"district__id__exact": district, "kind__exact": "township"}
    )
    assert sorted(str(c) for c in response.context["cl"].result_list) == [
        "Thị trấn Cồn",
        "Thị trấn Thịnh Long",
        "Thị trấn Yên Định",
    ]


@pytest.mark.django_db
def test_admin_commune_page_shows_its_hamlets_inline(superuser_client):
    commune = Commune.objects.get(code=14269)
    commune.hamlets.create(name="Thôn Đông Hải")
    response = superuser_client.get(reverse("admin:communes_commune_change", args=[commune.pk]))
    assert response.status_code == 200
    assert "Thôn Đông Hải" in response.content.decode()


def change_form_data(commune: Commune, **figures) -> dict:
    """What the admin's commune page posts: the unit's fields, figures and no hamlets."""
    return {
        "code": commune.code,
        "name": commune.name,
        "kind": commune.kind,
        "district": commune.district_id,
        "hamlets-TOTAL_FORMS": 0,
        "hamlets-INITIAL_FORMS": 0,
        **figures,
    }


@pytest.mark.django_db
def test_figures_entered_in_admin_are_no_longer_demo(superuser_client):
    commune = Commune.objects.get(code=14269)
    Commune.objects.filter(pk=commune.pk).update(population=9000, figures_are_demo=True)
    data = change_form_data(
        commune,
        population=9000,
        working_age_population=5000,
        households=2800,
        enterprises=12,
        new_rural_status="advanced",
        new_rural_year=2023,
    )
    response = superuser_client.post(
        reverse("admin:communes_commune_change", args=[commune.pk]), data
    )
    assert response.status_code == 302
    commune.refresh_from_db()
    assert (commune.households, commune.figures_are_demo) == (2800, False)


@pytest.mark.django_db
def test_a_count_typed_with_vietnamese_grouping_is_read_whole(superuser_client):
    commune = Commune.objects.get(code=14269)
    response = superuser_client.post(
        reverse("admin:communes_commune_change", args=[commune.pk]),
        change_form_data(commune, population="16.003", households="4.100"),
    )
    assert response.status_code == 302
    commune.refresh_from_db()
    assert (commune.population, commune.households) == (16_003, 4_100)


@pytest.mark.django_db
def test_admin_refuses_working_age_above_population_and_keeps_the_input(superuser_client, settings):
    settings.LANGUAGE_CODE = "en"
    commune = Commune.objects.get(code=14269)
    data = change_form_data(commune, population=1000, working_age_population=1500)
    response = superuser_client.post(
        reverse("admin:communes_commune_change", args=[commune.pk]), data
    )
    assert response.status_code == 200
    assert "cannot exceed the population" in str(response.context["adminform"].form.errors)
    assert 'value="1500"' in response.content.decode()
    commune.refresh_from_db()
    assert commune.population is None


HEADER = "code,name,kind,district,population,working_age_population,households\n"


def _import(superuser_client, content: str | bytes, file_format: str = "csv"):
    """Upload a file to the commune import page, as an admin does: the preview step."""
    upload = io.BytesIO(content.encode("utf-8") if isinstance(content, str) else content)
    upload.name = f"communes.{file_format}"
    return superuser_client.post(
        reverse("admin:communes_commune_import"),
        {"resource": 0, "format": ["csv", "xlsx"].index(file_format), "import_file": upload},
    )


def _confirm(superuser_client, preview):
    form = preview.context["confirm_form"]
    return superuser_client.post(
        reverse("admin:communes_commune_process_import"),
        {name: form.initial[name] for name in form.fields},
    )


@pytest.mark.django_db
def test_a_clean_import_is_previewed_then_saved(superuser_client):
    preview = _import(
        superuser_client,
        HEADER
        + "14269,Xã Hải Đông,xã,366,9000,5200,2900\n13636,Phường Trần Tế Xương,ward,356,,,\n",
    )
    assert preview.status_code == 200
    assert preview.context["result"].has_errors() is False
    assert not preview.context["result"].has_validation_errors()
    assert Commune.objects.get(code=14269).households is None  # the preview saves nothing

    response = _confirm(superuser_client, preview)

    assert response.status_code == 302
    commune = Commune.objects.get(code=14269)
    assert (commune.population, commune.households, commune.figures_are_demo) == (9000, 2900, False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (
            "14270,Xã Hải Sơn,xã,999,8000,4000,2500",
            "Row 3, column “District code”: Unknown district code: 999.",
        ),
        (
            "14270,Xã Hải Sơn,xã,366,8000,4000,-5",
            "Row 3, column “Households”, value “-5”: Ensure this value is greater than or "
            "equal to 0.",
        ),
        ("14269,Xã Hải Đông,xã,366,1,1,1", "Row 3, column “Official code”: Row 2 already names"),
        (
            "14270,Xã Hải Sơn,xã,366,100,900,20",
            "Row 3, column “Working-age population”, value “900”: The working-age population "
            "cannot exceed the population.",
        ),
        ("14270,Xã Hải Sơn,village,366,100,90,20", "Row 3, column “Kind”: “village” is not one of"),
        (
            "14270,Xã Hải Sơn,xã,366,100,90,12.5a",
            "Row 3, column “Households”: “12.5a” is not a whole number.",
        ),
        # The library cut 12.5 to 12.
        ("14270,Xã Hải Sơn,xã,366,100,90,12.5", "“12.5” is not a whole number."),
        ("abc,Xã Hải Sơn,xã,366,100,90,12", "Row 3, column “Official code”: “abc” is not a whole"),
    ],
)
def test_an_import_with_one_bad_row_is_refused_whole_and_names_the_row(
    superuser_client, settings, bad_row, reason
):
    settings.LANGUAGE_CODE = "en"
    before = list(Commune.objects.order_by("code").values_list("code", *Commune.FIGURE_FIELDS))
    content = HEADER + "14269,Xã Hải Đông,xã,366,9000,5200,2900\n" + bad_row + "\n"

    preview = _import(superuser_client, content)

    result = preview.context["result"]
    assert result.has_validation_errors()
    assert "confirm_form" not in preview.context or preview.context["confirm_form"] is None
    # The spreadsheet's row: the header is row 1, the bad row the file's third.
    assert [row.number for row in result.invalid_rows] == [2]
    html = preview.content.decode()
    assert reason in html.replace("&quot;", '"').replace("&#x27;", "'")
    assert "ConversionSyntax" not in html
    after = list(Commune.objects.order_by("code").values_list("code", *Commune.FIGURE_FIELDS))
    assert after == before


@pytest.mark.django_db
def test_a_bad_count_is_named_by_row_column_and_value_in_vietnamese(superuser_client):
    """Waits on the catalogue: the message's Vietnamese."""
    others = Commune.objects.exclude(code=14269).order_by("code")[:89]
    content = HEADER + "".join(  # rows 2 to 90, all good
        f"{c.code},{c.name},{c.get_kind_display()},{c.district.code},,,100\n"
        for c in others.select_related("district")
    )
    content += '14269,Xã Hải Đông,xã,366,9000,5200,"12,5a"\n'  # row 91

    html = _import(superuser_client, content).content.decode()

    assert "Dòng 91, cột “Số hộ gia đình”: “12,5a” không phải là số nguyên." in html
    assert "Line number" not in html
    assert Commune.objects.get(code=14269).households is None


@pytest.mark.django_db
def test_counts_in_a_file_are_read_as_vietnamese_write_them(superuser_client):
    preview = _import(superuser_client, HEADER + '14269,Xã Hải Đông,xã,366,"16.003",,"2.900"\n')
    _confirm(superuser_client, preview)

    commune = Commune.objects.get(code=14269)
    assert (commune.population, commune.households) == (16_003, 2_900)


@pytest.mark.django_db
def test_a_file_without_the_code_column_is_refused_and_says_so(superuser_client, settings):
    settings.LANGUAGE_CODE = "en"
    html = _import(superuser_client, "name,households\nXã Hải Đông,2900\n").content.decode()
    assert "The file has no “Official code” column" in html


@pytest.mark.django_db
def test_import_errors_are_explained_in_vietnamese_by_default(superuser_client):
    preview = _import(superuser_client, HEADER + "14270,Xã Hải Sơn,xã,999,8000,4000,2500\n")
    html = preview.content.decode()
    assert "Không có huyện nào mang mã 999." in html
    assert not Commune.objects.filter(code=14270).exists()


@pytest.mark.django_db
def test_an_xlsx_file_imports_like_a_csv(superuser_client):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append([14269, "Xã Hải Đông", "Xã", 366, 9100, 5300, 2950])
    buffer = io.BytesIO()
    workbook.save(buffer)

    preview = _import(superuser_client, buffer.getvalue(), "xlsx")
    assert not preview.context["result"].has_validation_errors()
    response = _confirm(superuser_client, preview)

    assert response.status_code == 302
    assert Commune.objects.get(code=14269).households == 2950


def _export(superuser_client, file_format: str = "csv"):
    """Every column, as the export page offers them ticked."""
    fields = [f.column_name for f in CommuneResource().get_export_fields()]
    return superuser_client.post(
        reverse("admin:communes_commune_export"),
        {
            "format": ["csv", "xlsx"].index(file_format),
            "resource": 0,
            **{f"communeresource_{f}": True for f in fields},
        },
    )


@pytest.mark.django_db
def test_communes_export_as_csv_with_their_district_codes(superuser_client):
    """Waits on the catalogue: the district code's header."""
    Commune.objects.filter(code=14269).update(households=16_003, new_rural_status="advanced")

    response = _export(superuser_client)

    assert response.status_code == 200
    # The byte-order mark, so that Excel reads the Vietnamese as UTF-8.
    assert response.content.startswith(codecs.BOM_UTF8)
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="xa-{day}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 226
    assert rows[0] == [
        "Mã hành chính",
        "Tên",
        "Loại",
        "Mã huyện",
        "Dân số",
        "Dân số trong độ tuổi lao động",
        "Số hộ gia đình",
        "Số doanh nghiệp",
        "Mức đạt chuẩn nông thôn mới",
        "Năm đạt chuẩn",
    ]
    assert [
        "14269",
        "Xã Hải Đông",
        "Xã",
        "366",
        "",
        "",
        "16003",
        "",
        "Nông thôn mới nâng cao",
        "",
    ] in rows


@pytest.mark.django_db
def test_an_export_imports_back_unchanged_in_either_language(superuser_client):
    Commune.objects.filter(code=14269).update(
        population=9000, households=2900, new_rural_status="advanced", new_rural_year=2023
    )
    for language in ("vi", "en"):
        exported = _export(superuser_client, "xlsx").content
        superuser_client.cookies.load({settings.LANGUAGE_COOKIE_NAME: language})

        preview = _import(superuser_client, exported, "xlsx")

        result = preview.context["result"]
        assert not result.has_errors() and not result.has_validation_errors(), language
        assert result.totals["skip"] == 226, language  # every row read as it stands


@pytest.mark.django_db
def test_the_export_page_offers_the_columns_by_their_headers(superuser_client, settings):
    settings.LANGUAGE_CODE = "en"
    html = superuser_client.get(reverse("admin:communes_commune_export")).content.decode()
    assert "Working-age population" in html
    assert "Working Age Population" not in html
    assert 'style="' not in html and "onchange=" not in html  # the policy refuses both


def _history(superuser_client, commune: Commune, language: str) -> str:
    superuser_client.cookies.load({settings.LANGUAGE_COOKIE_NAME: language})
    url = reverse("admin:communes_commune_history", args=[commune.pk])
    return superuser_client.get(url).content.decode()


@pytest.mark.django_db
def test_an_imported_change_is_in_the_communes_history_in_the_readers_language(
    superuser_client,
):
    preview = _import(superuser_client, HEADER + "14269,Xã Hải Đông,xã,366,9000,,2900\n")
    _confirm(superuser_client, preview)
    commune = Commune.objects.get(code=14269)

    assert "Changed population and households." in _history(superuser_client, commune, "en")
    assert "Đã thay đổi dân số và số hộ gia đình." in _history(superuser_client, commune, "vi")


@pytest.mark.django_db
def test_a_change_in_the_form_is_in_the_history_in_the_readers_language(superuser_client):
    commune = Commune.objects.get(code=14269)
    superuser_client.post(
        reverse("admin:communes_commune_change", args=[commune.pk]),
        change_form_data(commune, households=2900),
    )

    assert "Changed households." in _history(superuser_client, commune, "en")
    assert "Đã thay đổi số hộ gia đình." in _history(superuser_client, commune, "vi")


@pytest.mark.django_db
def test_a_row_that_fails_at_the_confirmation_stops_the_whole_import(superuser_client, settings):
    """The file is read again when the import is confirmed: a hamlet another admin added
    meanwhile makes its row fail, and the other row is not saved either."""
    settings.LANGUAGE_CODE = "en"
    commune = Commune.objects.get(code=14269)
    upload = io.BytesIO(
        b"commune,name,is_active\n14269,Th\xc3\xb4n M\xe1\xbb\x9bi,x\n14269,Th\xc3\xb4n Hai,x\n"
    )
    upload.name = "hamlets.csv"
    preview = superuser_client.post(
        reverse("admin:communes_hamlet_import"),
        {"resource": 0, "format": 0, "import_file": upload},
    )
    form = preview.context["confirm_form"]
    commune.hamlets.create(name="Thôn Mới")

    response = superuser_client.post(
        reverse("admin:communes_hamlet_process_import"),
        {name: form.initial[name] for name in form.fields},
    )

    assert response.status_code == 200
    assert "Row 2" in response.content.decode()
    assert list(commune.hamlets.values_list("name", flat=True)) == ["Thôn Mới"]
