import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory, district_staff
from communes.models import District


def _rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>.*?</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.mark.django_db
def test_home_page_shows_the_province_and_its_10_districts_with_commune_counts(client, divisions):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Tỉnh Nam Định</h1>" in html
    rows = _rows(html)
    assert len(rows) == 10
    assert ["356", "Thành phố Nam Định", "25", "3", "22", "0"] in rows
    assert ["366", "Huyện Hải Hậu", "34", "31", "0", "3"] in rows
    assert sum(int(r[2]) for r in rows) == 226
    assert 'href="/accounts/login/"' in html


@pytest.mark.django_db
def test_home_page_s_total_row_adds_up_every_column(client, divisions):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    footer = html.split("<tfoot>")[1].split("</tfoot>")[0]
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", footer)
    ]
    # 226 communes: 188 rural communes, 22 wards and 16 townships (DOMAIN.md).
    assert cells == ["Total", "226", "188", "22", "16"]
    columns = zip(*(row[2:] for row in _rows(html)), strict=True)
    assert [str(sum(int(n) for n in column)) for column in columns] == cells[1:]


@pytest.mark.django_db
def test_home_page_sends_a_logged_in_user_where_their_work_is(client, divisions):
    # Each role's page: config/tests/test_landing.py.
    client.force_login(district_staff(District.objects.get(code=366)))
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/district/366/"


@pytest.mark.django_db
def test_home_page_speaks_vietnamese_by_default_and_english_on_request(client, divisions):
    assert "Các huyện" in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "Districts" in client.get("/").content.decode()


@pytest.mark.django_db
def test_home_page_makes_a_fixed_number_of_queries(client, divisions):
    client.get("/")  # warm the demo-data flag cache, as any previous page would
    with CaptureQueriesContext(connection) as anonymous:
        client.get("/")
    # province, districts with their counts
    assert len(anonymous) == 2

    # A login that sees nothing stays on this page; anyone else is sent on.
    client.force_login(UserFactory())
    client.get("/")
    with CaptureQueriesContext(connection) as logged_in:
        client.get("/")
    # + session, user (the permissions the menu asks for were read by the first page
    # and kept in the cache; a scope that sees nothing has no communes to count)
    assert len(logged_in) == 4
