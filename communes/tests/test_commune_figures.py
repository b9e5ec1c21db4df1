"""A commune's figures changed in Django admin (its form or an import) reach the
dashboards: the change is marked, and the roll-up it asks for publishes a new key for
the figures the dashboards cache."""

import io
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory, province_staff
from communes.models import Commune, Province
from dashboard.models import PendingRollup
from outreach.models import Member
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

HAI_DONG = 14269  # Xã Hải Đông, Huyện Hải Hậu (366)


@pytest.fixture
def administrator(divisions):
    return UserFactory(is_staff=True, is_superuser=True)


def _commune_form(commune: Commune, **figures) -> dict:
    """What the admin's commune page posts: the unit's fields, its figures, no hamlets."""
    return {
        "code": commune.code,
        "name": commune.name,
        "kind": commune.kind,
        "district": commune.district_id,
        "hamlets-TOTAL_FORMS": 0,
        "hamlets-INITIAL_FORMS": 0,
        **figures,
    }


def _coverage(client, commune: Commune) -> str:
    """The commune's coverage on the district's ranking of its communes."""
    url = reverse("dashboard:communes") + f"?district={commune.district.code}"
    html = client.get(url).content.decode()
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S):
        if f">{commune.name}<" in row:
            return next(cell for cell in re.findall(r">([\d.,]+%)<", row))
    raise AssertionError(f"{commune.name} is not ranked")


@pytest.mark.django_db
def test_households_changed_in_admin_change_the_coverage_the_dashboard_shows(
    client, administrator, django_capture_on_commit_callbacks
):
    commune = Commune.objects.select_related("district").get(code=HAI_DONG)
    Commune.objects.filter(pk=commune.pk).update(households=4)
    hamlet = HamletFactory(commune=commune)
    team = TeamFactory(commune=commune, hamlet=hamlet)
    member = MemberFactory(team=team, role=Member.Role.LEADER)
    leader, _password = member_login_create(by=administrator, member=member)
    with django_capture_on_commit_callbacks(execute=True):  # the visit's roll-up
        visit_record(
            by=leader,
            team=team,
            submission_id=uuid.uuid4(),
            hamlet=hamlet,
            address_label="Số 1, ngõ 3",
            data=VisitData(visited_on=timezone.localdate(), members=[member]),
        )
    reader = client.__class__()
    reader.force_login(province_staff(Province.objects.get()))
    assert _coverage(reader, commune) == "25,0%"  # 1 household of 4, and now cached

    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:communes_commune_change", args=[commune.pk]),
            _commune_form(commune, households=2),
        )

    assert response.status_code == 302
    assert not PendingRollup.objects.exists()  # the roll-up ran (eagerly) on commit
    assert _coverage(reader, commune) == "50,0%"


@pytest.mark.django_db
def test_a_save_that_changes_nothing_the_dashboards_show_marks_nothing(client, administrator):
    commune = Commune.objects.get(code=HAI_DONG)
    Commune.objects.filter(pk=commune.pk).update(households=4)
    client.force_login(administrator)

    client.post(
        reverse("admin:communes_commune_change", args=[commune.pk]),
        _commune_form(commune, households=4),
    )

    assert not PendingRollup.objects.exists()


HEADER = "code,name,kind,district,population,working_age_population,households\n"


def _upload(client, content: str):
    upload = io.BytesIO(content.encode("utf-8"))
    upload.name = "communes.csv"
    return client.post(
        reverse("admin:communes_commune_import"),
        {"resource": 0, "format": 0, "import_file": upload},
    )


@pytest.mark.django_db
def test_an_import_marks_the_communes_it_changed_and_asks_for_one_roll_up(
    client, administrator, django_capture_on_commit_callbacks
):
    client.force_login(administrator)
    preview = _upload(
        client,
        HEADER
        + "14269,Xã Hải Đông,xã,366,9000,5200,2900\n"
        + "13636,Phường Trần Tế Xương,phường,356,8000,4000,2100\n",
    )
    assert not PendingRollup.objects.exists()  # the preview saves and marks nothing
    form = preview.context["confirm_form"]

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            reverse("admin:communes_commune_process_import"),
            {name: form.initial[name] for name in form.fields},
        )

    marked = PendingRollup.objects.values_list("commune__code", flat=True)
    assert sorted(marked) == [13636, 14269]
    announced = [c for c in callbacks if c.__qualname__ == "core.marks.changes_committed"]
    assert len(announced) == 1
