"""Django admin is for administrators: it filters nothing by scope, so staff status on a
scoped login must not open it."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory, commune_official, district_staff
from communes.models import Commune
from outreach.tests.factories import TeamFactory

TEAMS = reverse("admin:outreach_team_changelist")


@pytest.fixture
def far_team(divisions):
    """A team of Phường Trần Tế Xương, in another district than Hải Hậu's."""
    return TeamFactory(commune=Commune.objects.get(code=13636), name="Tổ phường Trần Tế Xương")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_user",
    [
        lambda: district_staff(Commune.objects.get(code=14269).district, is_staff=True),
        lambda: commune_official(Commune.objects.get(code=14269), is_staff=True),
        lambda: UserFactory(scope_level="", is_staff=True),
    ],
    ids=["district staff", "commune official", "no scope"],
)
def test_staff_status_on_a_scoped_login_does_not_open_the_admin(client, far_team, make_user):
    client.force_login(make_user())

    response = client.get(TEAMS)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert far_team.name not in client.get(TEAMS, follow=True).content.decode()


@pytest.mark.django_db
def test_an_administrator_still_sees_every_team_in_the_admin(client, far_team):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get(TEAMS)

    assert response.status_code == 200
    assert far_team.name in response.content.decode()
