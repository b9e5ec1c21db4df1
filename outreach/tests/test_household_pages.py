import datetime as dt
import uuid

import pytest
from django.urls import reverse

from accounts.tests.factories import district_staff
from communes.models import Commune
from outreach.models import Household, Member, Service
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, HouseholdFactory, MemberFactory, TeamFactory


def _visit(leader, team, hamlet, address, day):
    visit_record(
        by=leader,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label=address,
        data=VisitData(
            visited_on=day,
            members=list(team.members.all()),
            services=list(Service.objects.filter(code="ecommerce")),
        ),
    )


@pytest.mark.django_db
def test_an_official_merges_two_records_of_one_household(client, hai_dong, official):
    team = TeamFactory(commune=hai_dong)
    leader_member = MemberFactory(team=team, role=Member.Role.LEADER)
    leader, _pw = member_login_create(by=official, member=leader_member)
    hamlet = HamletFactory(commune=hai_dong)
    _visit(leader, team, hamlet, "Số 5, ngõ 3", dt.date(2026, 11, 1))
    _visit(leader, team, hamlet, "Nhà 5 ngõ 3", dt.date(2026, 11, 2))
    keep, remove = Household.objects.order_by("pk")
    client.force_login(official)

    page = client.get(reverse("outreach:household_merge"), {"q": "5"})
    assert page.status_code == 200
    response = client.post(
        reverse("outreach:household_merge") + "?q=5", {"keep": keep.pk, "remove": remove.pk}
    )

    assert response.status_code == 302
    assert list(Household.objects.values_list("pk", flat=True)) == [keep.pk]
    assert keep.visits.count() == 2


@pytest.mark.django_db
def test_merging_a_record_with_itself_is_refused_and_nothing_changes(client, hai_dong, official):
    household = HouseholdFactory(hamlet=HamletFactory(commune=hai_dong))
    client.force_login(official)
    response = client.post(
        reverse("outreach:household_merge"),
        {"keep": household.pk, "remove": household.pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Choose two different households." in response.content.decode()
    assert Household.objects.count() == 1


@pytest.mark.django_db
def test_another_communes_households_are_neither_listed_nor_mergeable(client, hai_dong, official):
    mine = HouseholdFactory(hamlet=HamletFactory(commune=hai_dong), address_label="Số 1 của tôi")
    other_commune = Commune.objects.get(code=13636)
    theirs = HouseholdFactory(
        hamlet=HamletFactory(commune=other_commune), address_label="Số 1 của họ"
    )
    client.force_login(official)

    html = client.get(reverse("outreach:household_list")).content.decode()
    assert "Số 1 của tôi" in html and "Số 1 của họ" not in html

    response = client.post(
        reverse("outreach:household_merge"), {"keep": mine.pk, "remove": theirs.pk}
    )
    assert response.status_code == 200  # the other commune's record is not a valid choice
    assert Household.objects.count() == 2


@pytest.mark.django_db
def test_district_staff_list_households_but_cannot_merge(client, hai_dong):
    HouseholdFactory(hamlet=HamletFactory(commune=hai_dong))
    client.force_login(district_staff(hai_dong.district))
    assert client.get(reverse("outreach:household_list")).status_code == 200
    assert client.get(reverse("outreach:household_merge")).status_code == 403


@pytest.mark.django_db
def test_the_household_list_makes_the_same_queries_for_3_or_30_households(
    client, hai_dong, official, django_assert_num_queries
):
    hamlet = HamletFactory(commune=hai_dong)
    HouseholdFactory.create_batch(3, hamlet=hamlet)
    client.force_login(official)
    client.get(reverse("outreach:household_list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("outreach:household_list"))
    HouseholdFactory.create_batch(27, hamlet=hamlet)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("outreach:household_list"))
    assert len(few) == len(many)
