"""seed_demo's administrator: a login that opens Django admin, its password printed once."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.demo import DEMO_ADMIN, DEMO_PASSWORD
from accounts.models import User


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", scale=0.02, stdout=out)
    return out.getvalue()


def _admin_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.strip().startswith(DEMO_ADMIN)]
    return line


@pytest.mark.django_db
def test_the_demo_administrator_logs_in_with_the_printed_password_and_opens_admin(divisions):
    username, rest = _admin_line(_seed()).strip().split(" / ", 1)
    password = rest.split("  (", 1)[0]

    assert username == DEMO_ADMIN
    assert password != DEMO_PASSWORD and len(password) >= 12
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/"}
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    admin = User.objects.get(username=DEMO_ADMIN)
    assert (admin.is_demo, admin.is_staff, admin.is_superuser) == (True, True, True)


@pytest.mark.django_db
def test_a_second_run_prints_no_password_and_keeps_the_first(divisions):
    first = _admin_line(_seed())
    password = first.strip().split(" / ", 1)[1].split("  (", 1)[0]

    second = _admin_line(_seed())

    assert password not in second
    assert "printed when it was created" in second
    assert User.objects.get(username=DEMO_ADMIN).check_password(password)
