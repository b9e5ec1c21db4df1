import io

import openpyxl
import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from communes.models import Commune


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
        ("14270,Xã Hải Sơn,xã,999,8000,4000,2500", "Unknown district code: 999"),
        ("14270,Xã Hải Sơn,xã,366,8000,4000,-5", "greater than or equal to 0"),
        ("14269,Xã Hải Đông,xã,366,1,1,1", "repeated in this file (first on row 1)"),
        ("14270,Xã Hải Sơn,xã,366,100,900,20", "cannot exceed the population"),
        ("14270,Xã Hải Sơn,village,366,100,90,20", "is not one of"),
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
    assert result.has_validation_errors() or result.has_errors()
    assert "confirm_form" not in preview.context or preview.context["confirm_form"] is None
    invalid = {row.number: str(row.error_dict) for row in result.invalid_rows}
    errors = {number: str(errs) for number, errs in result.row_errors()}
    assert reason in (invalid | errors).get(2, "")
    html = preview.content.decode()
    # The page lists the row by its number, with the reason.
    assert "<td>2 </td>" in html or "Line number: 2" in html
    assert reason in html
    after = list(Commune.objects.order_by("code").values_list("code", *Commune.FIGURE_FIELDS))
    assert after == before


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


@pytest.mark.django_db
def test_communes_export_as_csv_with_their_district_codes(superuser_client):
    response = superuser_client.post(
        reverse("admin:communes_commune_export"),
        {
            "format": 0,
            "resource": 0,
            **{f"communeresource_{f}": True for f in ("code", "name", "kind", "district")},
        },
    )
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 226
    assert "14269,Xã Hải Đông,rural_commune,366" in lines
