"""A restore never makes the dashboards lie: the figures shown are the restored database's.

The dashboards' caches are keyed on the roll-up that made the figures. A restore rewinds
the roll-up's counter; were the key the counter alone, the runs after the restore would
reuse the keys of the runs it undid, and the pages would show the old database's figures
(20 visits against 18 in the database) until the cache expired.
"""

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory, province_staff
from communes.models import Commune, Province
from dashboard.tests.test_pages import tile, url
from outreach.models import Member, Visit
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

# A real backup and restore (pg_dump and pg_restore in subprocesses) and a flush after it.
pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_after_a_restore_the_dashboard_shows_the_restored_databases_figures(
    reference_data, divisions, tmp_path, client
):
    commune = Commune.objects.get(code=14269)
    team = TeamFactory(commune=commune)
    hamlet = HamletFactory(commune=commune)
    leader = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=UserFactory(is_superuser=True), member=leader)
    day = timezone.localdate() - dt.timedelta(days=1)
    posted = iter(range(1000))

    def post(visits: int) -> None:
        # Each through the service, committed on its own: its roll-up runs at once (eager).
        for _ in range(visits):
            visit_record(
                by=user,
                team=team,
                submission_id=uuid.uuid4(),
                hamlet=hamlet,
                address_label=f"Số {next(posted)}",
                data=VisitData(visited_on=day, members=[leader]),
            )

    client.force_login(province_staff(Province.objects.get()))
    team_page = url("team", team.pk)

    def shown() -> str:
        page = client.get(team_page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        return tile(page, "visits_total")

    post(2)
    assert shown() == "2"
    dump = tmp_path / "portal.dump"
    call_command("backup_database", output=str(dump))
    for _ in range(6):  # six runs, each page cached under its run's key
        post(1)
        shown()
    assert shown() == "8"

    call_command("restore_database", str(dump), yes=True)
    client.force_login(province_staff(Province.objects.get()))

    assert Visit.objects.count() == 2
    assert shown() == "2"
    post(1)
    assert shown() == "3" == str(Visit.objects.count())
    post(1)
    assert shown() == "4" == str(Visit.objects.count())
