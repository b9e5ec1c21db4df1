import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Min, Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.scopes import scope_for
from core.phone import normalize_phone
from dashboard.models import PendingRollup, RollupState
from outreach.models import (
    READINESS_FIELDS,
    Household,
    Member,
    MemberDay,
    ReadinessDay,
    Team,
    Visit,
)
from outreach.services.visits import EDIT_WINDOW, visit_outcome_errors
from trainings.models import Attendance


def _counts():
    return (
        Team.objects.count(),
        Member.objects.count(),
        Household.objects.count(),
        Visit.objects.count(),
        Visit.members.through.objects.count(),
        Visit.services.through.objects.count(),
    )


@pytest.mark.slow  # the whole province's demo data: tens of seconds
@pytest.mark.django_db
def test_seed_demo_fills_the_province_with_teams_members_households_and_visits(divisions):
    call_command("seed_demo")

    _teams, _members, households, visits, *_ = _counts()
    # The campaign's figures today, beside the teams dissolved and members who left since.
    assert (Team.objects.active().count(), Member.objects.active().count()) == (2_160, 16_000)
    assert Team.objects.exclude(dissolved_on=None).count() == 36
    assert Member.objects.filter(is_active=False).count() > 1_000
    assert households > 5_000 and visits > 10_000
    assert not Team.objects.filter(is_demo=False).exists()
    # Every team has exactly one active leader, and about 8,900 members are on the Zalo OA.
    leaders = Team.objects.active().annotate(
        n=Count("members", filter=Q(members__role="leader", members__is_active=True))
    )
    assert set(leaders.values_list("n", flat=True)) == {1}
    on_zalo = Member.objects.active().filter(on_zalo_oa=True).count()
    assert on_zalo == pytest.approx(8_900, rel=0.05)
    # Every commune has teams; seed_demo ends with a full roll-up (the dashboard's part),
    # which leaves no bucket waiting.
    assert Team.objects.values("commune").distinct().count() == 226
    assert not PendingRollup.objects.exists()
    # With the facts the visit services would have recorded: the full roll-up's check
    # found nothing to repair.
    assert RollupState.objects.get().facts_differences_total == 0
    assert MemberDay.objects.exists() and ReadinessDay.objects.exists()


def _seed(**options) -> dict[str, str]:
    """Run seed_demo; the logins it printed, by what their line says they are."""
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    logins = {}
    for line in out.getvalue().splitlines():
        if " / " in line:
            username, rest = line.strip().split(" / ", 1)
            password, _sep, role = rest.partition("  (")
            logins[role.split(":")[0]] = (username, password)
    return logins


@pytest.mark.django_db
def test_the_demo_team_leader_logs_in_and_may_change_only_their_recent_visits(divisions):
    username, password = _seed(scale=0.05)["Team leader"]

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302
    member = Member.objects.get(user__username=username)
    assert scope_for(member.user).team_ids == {member.team_id}
    # Entered by them: the newest can still be changed, the older ones no longer.
    visits = Visit.objects.filter(team=member.team)
    assert set(visits.values_list("created_by", flat=True)) == {member.user_id}
    since = timezone.now() - EDIT_WINDOW
    recent = visits.filter(created_at__gt=since).first()
    old = visits.filter(created_at__lt=since).first()
    assert client.get(reverse("outreach:visit_edit", args=[recent.pk])).status_code == 200
    refused = client.get(reverse("outreach:visit_edit", args=[old.pk]))
    assert refused.status_code == 403
    assert "7 days after they were entered" in refused.content.decode()
    detail = client.get(reverse("outreach:visit_detail", args=[old.pk])).content.decode()
    assert f"Entered by</dt><dd>{member.full_name}, " in detail


@pytest.mark.django_db
def test_demo_visits_were_entered_by_their_teams_leader_in_the_days_after_the_visit(divisions):
    _seed(scale=0.05)

    now, zone = timezone.now(), timezone.get_default_timezone()
    leaders = dict(Member.objects.filter(role=Member.Role.LEADER).values_list("team_id", "user_id"))
    visits = list(Visit.objects.all())
    assert all(leaders[v.team_id] is not None for v in visits)
    assert [v.pk for v in visits if v.created_by_id != leaders[v.team_id]] == []
    # Entered where the campaign is: from the day of the visit to two days later, never
    # after now.
    entered_days = [(v.visited_on, v.created_at.astimezone(zone).date()) for v in visits]
    late = [
        (day, entered) for day, entered in entered_days if (entered - day).days not in (0, 1, 2)
    ]
    assert late == []
    assert max(v.created_at for v in visits) <= now
    # Over the months up to today: some still open to change, most closed.
    since = now - EDIT_WINDOW
    within = sum(1 for v in visits if v.created_at > since)
    assert 0 < within < len(visits) / 4
    assert max(v.visited_on for v in visits) >= timezone.localdate() - dt.timedelta(days=2)


@pytest.mark.django_db
def test_demo_households_were_recorded_by_their_first_visit_many_with_a_phone(divisions):
    _seed(scale=0.05)

    households = Household.objects.annotate(first_entered=Min("visits__created_at"))
    assert households.exists()
    assert not households.filter(first_entered=None).exists()
    assert not households.exclude(created_at=F("first_entered")).exists()
    assert set(households.values_list("consent", flat=True)) == {Household.Consent.GIVEN}
    assert not households.filter(created_by=None).exists()
    phones = list(households.exclude(phone="").values_list("phone", flat=True))
    assert 0.4 < len(phones) / households.count() < 0.8
    assert [normalize_phone(phone) for phone in phones] == phones


@pytest.mark.django_db
def test_the_demo_roster_lives_members_join_and_leave_over_the_years(divisions):
    _seed(scale=0.05)
    today = timezone.localdate()

    members = Member.objects.select_related("team")
    left = members.filter(is_active=False)
    assert not left.filter(left_on=None).exists() and not members.active().exclude(left_on=None)
    assert {m.left_on.year for m in left} >= set(range(2024, today.year + 1))
    # Members who joined their team after its first months, in every year since.
    late = members.filter(joined_on__gt=F("team__formed_on") + dt.timedelta(days=60))
    assert {m.joined_on.year for m in late} >= set(range(2024, today.year + 1))
    assert Team.objects.filter(formed_on__gt=dt.date(2023, 6, 28)).exists()
    # Nothing is dated in the future.
    for field in ("joined_on", "left_on", "zalo_joined_on"):
        assert not members.filter(**{f"{field}__gt": today}).exists()
    assert not Team.objects.filter(Q(formed_on__gt=today) | Q(dissolved_on__gt=today)).exists()
    # On the Zalo OA only while in the team.
    assert not left.filter(zalo_joined_on__gt=F("left_on")).exists()


@pytest.mark.django_db
def test_demo_teams_dissolved_as_the_service_dissolves_them(divisions):
    _seed(scale=0.05)

    dissolved = Team.objects.exclude(dissolved_on=None)
    assert dissolved.exists()
    members = Member.objects.filter(team__in=dissolved)
    # Nobody stays in a dissolved team: those still there that day left on it; the
    # leader's login no longer works.
    assert not members.filter(is_active=True).exists()
    assert not members.filter(left_on__gt=F("team__dissolved_on")).exists()
    assert members.filter(left_on=F("team__dissolved_on")).count() >= dissolved.count()
    leaders = members.filter(role=Member.Role.LEADER)
    assert leaders.count() == dissolved.count()
    assert not leaders.filter(Q(user=None) | Q(user__is_active=True)).exists()
    # Their visits were made before.
    assert not Visit.objects.filter(
        team__in=dissolved, visited_on__gte=F("team__dissolved_on")
    ).exists()


@pytest.mark.django_db
def test_demo_visits_and_trainings_name_members_who_were_in_the_team_that_day(divisions):
    _seed(scale=0.05)

    went = Visit.members.through.objects.filter(
        Q(member__joined_on__gt=F("visit__visited_on"))
        | Q(member__left_on__lte=F("visit__visited_on"))
        | ~Q(member__team=F("visit__team"))
    )
    assert not went.exists()
    trained = Attendance.objects.exclude(member=None)
    assert trained.exists()
    assert not trained.filter(
        Q(member__joined_on__gt=F("session__starts_on"))
        | Q(member__left_on__lte=F("session__starts_on"))
        | ~Q(member__team__commune__district=F("session__district"))
    ).exists()


@pytest.mark.django_db
def test_a_second_demo_run_changes_nothing_and_a_seed_gives_the_same_data(divisions):
    call_command("seed_demo", seed=5, scale=0.03)
    first = _counts()
    names = list(Member.objects.order_by("phone").values_list("full_name", "phone"))
    call_command("seed_demo", seed=5, scale=0.03)
    assert _counts() == first

    Attendance.objects.all().delete()
    Visit.objects.all().delete()
    Household.objects.all().delete()
    Member.objects.all().delete()
    Team.objects.all().delete()
    call_command("seed_demo", seed=5, scale=0.03)
    assert _counts() == first
    assert list(Member.objects.order_by("phone").values_list("full_name", "phone")) == names


@pytest.mark.django_db
def test_demo_visits_say_only_what_their_outcome_allows(divisions):
    call_command("seed_demo", seed=7, scale=0.05)

    visits = Visit.objects.prefetch_related("services")
    assert set(visits.values_list("outcome", flat=True)) == set(Visit.Outcome)
    contradictions = {
        visit.pk: errors
        for visit in visits
        if (
            errors := visit_outcome_errors(
                outcome=visit.outcome,
                residents_helped=visit.residents_helped,
                services=list(visit.services.all()),
                readiness={item: getattr(visit, item) for item in READINESS_FIELDS},
            )
        )
    }
    assert contradictions == {}
