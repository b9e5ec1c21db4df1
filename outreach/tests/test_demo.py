import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from accounts.models import ScopeLevel, User
from accounts.scopes import scope_for
from dashboard.models import PendingRollup, RollupState
from outreach.models import Household, Member, MemberDay, ReadinessDay, Team, Visit


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

    teams, members, households, visits, *_ = _counts()
    assert (teams, members) == (2_160, 16_000)
    assert households > 5_000 and visits > 10_000
    assert not Team.objects.filter(is_demo=False).exists()
    # Every team has exactly one active leader, and about 8,900 members are on the Zalo OA.
    leaders = Team.objects.annotate(n=Count("members", filter=Q(members__role="leader")))
    assert set(leaders.values_list("n", flat=True)) == {1}
    assert Member.objects.filter(on_zalo_oa=True).count() == pytest.approx(8_900, rel=0.05)
    # Every commune has teams; seed_demo ends with a full roll-up (the dashboard's part),
    # which leaves no bucket waiting.
    assert Team.objects.values("commune").distinct().count() == 226
    assert not PendingRollup.objects.exists()
    # With the facts the visit services would have recorded: the full roll-up's check
    # found nothing to repair.
    assert RollupState.objects.get().facts_differences_total == 0
    assert MemberDay.objects.exists() and ReadinessDay.objects.exists()


@pytest.mark.django_db
def test_the_demo_team_leader_logs_in_and_sees_their_team(divisions):
    call_command("seed_demo", scale=0.05)

    leader = User.objects.get(is_demo=True, scope_level=ScopeLevel.TEAM)
    assert leader.check_password("demo-namdinh-2026")
    assert scope_for(leader).team_ids == {leader.member.team_id}


@pytest.mark.django_db
def test_a_second_demo_run_changes_nothing_and_a_seed_gives_the_same_data(divisions):
    call_command("seed_demo", seed=5, scale=0.03)
    first = _counts()
    names = list(Member.objects.order_by("phone").values_list("full_name", "phone"))
    call_command("seed_demo", seed=5, scale=0.03)
    assert _counts() == first

    Visit.objects.all().delete()
    Household.objects.all().delete()
    Member.objects.all().delete()
    Team.objects.all().delete()
    call_command("seed_demo", seed=5, scale=0.03)
    assert _counts() == first
    assert list(Member.objects.order_by("phone").values_list("full_name", "phone")) == names
