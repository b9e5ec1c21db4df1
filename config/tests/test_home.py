import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import district_staff
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
def test_home_page_tells_a_logged_in_user_what_they_see(client, divisions):
    client.force_login(district_staff(District.objects.get(code=366)))
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You see the figures of 34 communes." in html


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

    client.force_login(district_staff(District.objects.get(code=366)))
    client.get("/")
    with CaptureQueriesContext(connection) as logged_in:
        client.get("/")
    # + session, user, the count of communes in scope (the permissions the menu asks
    # for were read by the first page and kept in the cache)
    assert len(logged_in) == 5
