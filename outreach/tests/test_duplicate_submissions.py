"""A visit posted many times at once is stored once: double taps, resends and retries.

Real concurrency: eight threads, each with its own login session and database
connection, post through the phone form to the view, against the real Postgres.
"""

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from communes.models import Commune
from outreach.models import Member, Service, Visit
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory, visit_entries

NEW = reverse("outreach:visit_new")
VISITS, SENDS, THREADS = 200, 3, 8


@pytest.fixture
def place(reference_data, divisions):
    commune = Commune.objects.get(code=14269)
    hamlet = HamletFactory(commune=commune, name="Thôn Đông")
    admin = UserFactory(is_superuser=True)

    def leader_of_new_team(phone: str):
        team = TeamFactory(commune=commune)
        member = MemberFactory(team=team, role=Member.Role.LEADER, phone=phone)
        user, _password = member_login_create(by=admin, member=member)
        return team, user

    return hamlet, leader_of_new_team


def _form(team, hamlet, n: int, submission_id: uuid.UUID, notes: str = "") -> dict:
    return {
        "submission_id": str(submission_id),
        "consent": "given",
        "visited_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "hamlet": str(hamlet.pk),
        "address_label": f"Số {n}, ngõ 3",
        "head_name": f"Hộ thứ {n}",
        "members": [str(m.pk) for m in team.members.all()],
        "residents_helped": "2",
        "services": [str(Service.objects.get(code="portal_account").pk)],
        "outcome": Visit.Outcome.HELPED,
        "has_smartphone": "yes",
        "portal_account": "no",
        "notes": notes,
    }


def _post_all(user, posts: list[dict]) -> list[int]:
    """Each form posted from one of THREADS threads, each with its own session."""
    clients = []
    for _ in range(THREADS):
        client = Client()
        client.force_login(user)
        clients.append(client)

    def send(index: int) -> int:
        try:
            return clients[index % THREADS].post(NEW, posts[index]).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(send, range(len(posts))))


@pytest.mark.slow  # 600 posts from eight threads: tens of seconds on two cores
@pytest.mark.django_db(transaction=True)
def test_two_hundred_visits_each_posted_three_times_from_eight_threads_are_stored_once(place):
    hamlet, leader_of_new_team = place
    team, leader = leader_of_new_team("0912345678")
    ids = [uuid.uuid4() for _ in range(VISITS)]
    forms = [_form(team, hamlet, n, sid) for n, sid in enumerate(ids)]
    # The three sends of a visit sit next to each other, so that they race each other.
    posts = [form for form in forms for _send in range(SENDS)]

    answers = _post_all(leader, posts)

    assert answers == [302] * (VISITS * SENDS)
    assert Visit.objects.filter(team=team).count() == VISITS
    assert set(Visit.objects.values_list("submission_id", flat=True)) == set(ids)
    # One household, one audit entry and one set of members and services each.
    assert team.visits.values("household").distinct().count() == VISITS
    assert visit_entries(object_id__in=team.visits.values("pk")).count() == VISITS
    assert Visit.members.through.objects.filter(visit__team=team).count() == VISITS
    assert Visit.services.through.objects.filter(visit__team=team).count() == VISITS


@pytest.mark.slow  # eight threads racing on real transactions: a concurrency test, not a page's
@pytest.mark.django_db(transaction=True)
def test_the_same_ids_with_other_content_or_from_another_team_answer_409_and_change_nothing(
    place,
):
    hamlet, leader_of_new_team = place
    team, leader = leader_of_new_team("0912345678")
    other_team, other_leader = leader_of_new_team("0987654321")
    ids = [uuid.uuid4() for _ in range(24)]
    assert _post_all(leader, [_form(team, hamlet, n, sid) for n, sid in enumerate(ids)]) == [
        302
    ] * len(ids)
    stored = {
        v.submission_id: (v.notes, v.household_id, v.submission_digest)
        for v in Visit.objects.filter(team=team)
    }

    changed = [_form(team, hamlet, n, sid, notes="Sửa lại") for n, sid in enumerate(ids)]
    from_other_team = [_form(other_team, hamlet, n, sid) for n, sid in enumerate(ids)]
    assert _post_all(leader, changed) == [409] * len(ids)
    assert _post_all(other_leader, from_other_team) == [409] * len(ids)

    after = {
        v.submission_id: (v.notes, v.household_id, v.submission_digest)
        for v in Visit.objects.filter(submission_id__in=ids)
    }
    assert after == stored
    assert not other_team.visits.exists()
    assert visit_entries(object_id__in=team.visits.values("pk")).count() == len(ids)
