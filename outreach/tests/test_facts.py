"""The facts a visit's write records for the figures: ranks, places, member days and the
communes' readiness by day, kept by the services and checked against the raw rows."""

import datetime as dt
import uuid

import pytest

from outreach.facts import VisitRow, readiness_changes, visit_ranks
from outreach.models import (
    READINESS_FIELDS,
    Household,
    MemberDay,
    ReadinessDay,
    ReadinessLevel,
    Visit,
)
from outreach.services import households_merge, visit_delete, visit_record, visit_update
from outreach.services.facts import facts_check
from outreach.tests.factories import HamletFactory, MemberFactory
from outreach.tests.test_services import DAY, _data

NO_ANSWERS = (None,) * len(READINESS_FIELDS)


def _row(pk, day, team=1, **answers) -> VisitRow:
    values = tuple(answers.get(item) for item in READINESS_FIELDS)
    return VisitRow(id=pk, team_id=team, commune_id=1, day=day, answers=values)


def test_the_first_visit_is_the_earliest_day_then_the_lowest_id():
    day = dt.date(2026, 5, 1)
    rows = [_row(5, day), _row(3, day, team=2), _row(9, day - dt.timedelta(days=1), team=2)]
    assert visit_ranks(rows) == {9: (True, True), 3: (False, False), 5: (False, True)}


def test_the_checklist_changes_on_the_days_its_answers_change():
    d1, d2, d3 = (dt.date(2026, 5, day) for day in (1, 2, 3))
    rows = [
        _row(1, d1, has_smartphone=False),
        # Two visits on one day: the later one's answer is the day's.
        _row(2, d2, has_smartphone=True),
        _row(3, d2, has_smartphone=False, knows_scams=True),
        _row(4, d3),  # no answers: changes nothing
        _row(5, d3, has_smartphone=True),
    ]
    changes, answers = readiness_changes(rows)
    assert changes == {
        (d1, "has_smartphone"): (0, 1),
        (d2, "knows_scams"): (1, 1),
        (d3, "has_smartphone"): (1, 0),
    }
    assert answers["has_smartphone"] is True and answers["knows_scams"] is True
    assert answers["vneid_level2"] is None
    # What a commune adds up is the households' current answers.
    assert sum(yes for yes, _answered in changes.values()) == 2


def _stored(visit: Visit) -> tuple:
    visit.refresh_from_db()
    return (visit.first_for_household, visit.first_for_team)


def _readiness(commune_id) -> dict:
    totals = {}
    for item, yes, answered in ReadinessDay.objects.filter(commune_id=commune_id).values_list(
        "item", "yes", "answered"
    ):
        was = totals.get(item, (0, 0))
        totals[item] = (was[0] + yes, was[1] + answered)
    summed = {item: sums for item, sums in totals.items() if sums != (0, 0)}
    # The levels the dashboard copies are kept equal to the days' sums as they change.
    levels = ReadinessLevel.objects.filter(commune_id=commune_id).exclude(yes=0, answered=0)
    assert {
        item: (yes, answered)
        for item, yes, answered in levels.values_list("item", "yes", "answered")
    } == summed
    return summed


def _visit(leader, team, hamlet, address, day, **readiness):
    visit, _created = visit_record(
        by=leader,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label=address,
        data=_data(team, visited_on=day, readiness=readiness),
    )
    return visit


@pytest.mark.django_db
def test_a_visit_dated_before_the_first_takes_its_rank_and_moving_it_back_returns_it(
    leader, team, hamlet
):
    first = _visit(leader, team, hamlet, "Số 5", DAY)
    assert (first.commune_id, first.hamlet_id) == (team.commune_id, hamlet.pk)
    earlier = _visit(leader, team, hamlet, "Số 5", DAY - dt.timedelta(days=3))
    assert (_stored(earlier), _stored(first)) == ((True, True), (False, False))

    visit_update(
        by=leader,
        visit=earlier,
        hamlet=hamlet,
        address_label="Số 5",
        data=_data(team, visited_on=DAY + dt.timedelta(days=1)),
    )
    assert (_stored(first), _stored(earlier)) == ((True, True), (False, False))

    visit_delete(by=leader, visit=first)
    assert _stored(earlier) == (True, True)
    assert set(facts_check(repair=False).values()) == {0}


@pytest.mark.django_db
def test_moving_a_visit_to_another_household_ranks_both_and_moves_its_place(leader, team, hamlet):
    other_hamlet = HamletFactory(commune=team.commune)
    a1 = _visit(leader, team, hamlet, "Số 1", DAY - dt.timedelta(days=2))
    a2 = _visit(leader, team, hamlet, "Số 1", DAY)
    b1 = _visit(leader, team, other_hamlet, "Số 9", DAY - dt.timedelta(days=1))
    visit_update(
        by=leader,
        visit=a1,
        hamlet=other_hamlet,
        address_label="Số 9",
        data=_data(team, visited_on=DAY - dt.timedelta(days=2)),
    )
    a1.refresh_from_db()
    assert a1.hamlet_id == other_hamlet.pk
    # a1 is now the first of household B, and a2 the first of household A.
    assert (_stored(a1), _stored(b1), _stored(a2)) == ((True, True), (False, False), (True, True))
    assert set(facts_check(repair=False).values()) == {0}


@pytest.mark.django_db
def test_member_days_follow_the_visits_of_their_members(leader, team, hamlet):
    helper = MemberFactory(team=team)
    leader_member = leader.member
    one = _visit(leader, team, hamlet, "Số 1", DAY)
    day = (team.commune_id, DAY)

    def out():
        return set(MemberDay.objects.values_list("member_id", "commune_id", "day"))

    assert out() == {(leader_member.pk, *day), (helper.pk, *day)}
    two = visit_record(
        by=leader,
        team=team,
        submission_id=uuid.uuid4(),
        hamlet=hamlet,
        address_label="Số 2",
        data=_data(team, members=[leader_member]),
    )[0]
    visit_delete(by=leader, visit=one)
    # The leader went on another visit that day; the helper on none.
    assert out() == {(leader_member.pk, *day)}
    visit_update(
        by=leader,
        visit=two,
        hamlet=hamlet,
        address_label="Số 2",
        data=_data(team, members=[helper], visited_on=DAY - dt.timedelta(days=1)),
    )
    assert out() == {(helper.pk, team.commune_id, DAY - dt.timedelta(days=1))}


@pytest.mark.django_db
def test_a_communes_readiness_is_the_sum_of_its_households_changes(leader, team, hamlet):
    first = _visit(leader, team, hamlet, "Số 1", DAY, has_smartphone=False)
    _visit(leader, team, hamlet, "Số 2", DAY, has_smartphone=True, knows_scams=True)
    assert _readiness(team.commune_id) == {"has_smartphone": (1, 2), "knows_scams": (1, 1)}
    # A later visit changes household 1's answer; an earlier one does not.
    _visit(leader, team, hamlet, "Số 1", DAY + dt.timedelta(days=1), has_smartphone=True)
    _visit(leader, team, hamlet, "Số 1", DAY - dt.timedelta(days=9), has_smartphone=False)
    assert _readiness(team.commune_id) == {"has_smartphone": (2, 2), "knows_scams": (1, 1)}
    household = Household.objects.get(pk=first.household_id)
    assert household.has_smartphone is True
    visit_delete(by=leader, visit=first)
    assert _readiness(team.commune_id) == {"has_smartphone": (2, 2), "knows_scams": (1, 1)}
    assert set(facts_check(repair=False).values()) == {0}


@pytest.mark.django_db
def test_a_merge_ranks_the_visits_of_both_and_adds_up_their_answers(leader, team, hamlet, official):
    keep_visit = _visit(leader, team, hamlet, "Số 1", DAY, knows_scams=True)
    gone_visit = _visit(leader, team, hamlet, "Số 2", DAY - dt.timedelta(days=1), knows_scams=False)
    keep = Household.objects.get(pk=keep_visit.household_id)
    households_merge(
        by=official, keep=keep, remove=Household.objects.get(pk=gone_visit.household_id)
    )
    assert (_stored(gone_visit), _stored(keep_visit)) == ((True, True), (False, False))
    assert _readiness(team.commune_id) == {"knows_scams": (1, 1)}
    assert set(facts_check(repair=False).values()) == {0}


@pytest.mark.django_db
def test_the_check_finds_and_repairs_facts_a_writer_got_wrong(leader, team, hamlet):
    first = _visit(leader, team, hamlet, "Số 1", DAY, has_smartphone=True)
    second = _visit(leader, team, hamlet, "Số 1", DAY + dt.timedelta(days=1))
    # A writer that went around the services (a bulk load, a bug):
    Visit.objects.filter(pk=second.pk).update(first_for_household=True)
    MemberDay.objects.all().delete()
    ReadinessDay.objects.update(yes=0)
    found = facts_check(repair=True)
    assert found == {
        "visit_places": 0,
        "visit_ranks": 1,
        "member_days": 2,
        "readiness_days": 1,
        # The levels still add up the days as they were.
        "readiness_levels": 1,
    }
    assert (_stored(first), _stored(second)) == ((True, True), (False, False))
    assert set(facts_check(repair=False).values()) == {0}
    assert _readiness(team.commune_id) == {"has_smartphone": (1, 1)}


@pytest.mark.django_db
def test_the_check_repairs_a_readiness_level_that_is_not_its_days_sum(leader, team, hamlet):
    _visit(leader, team, hamlet, "Số 1", DAY, has_smartphone=True, knows_scams=False)
    ReadinessLevel.objects.filter(item="has_smartphone").update(yes=7)
    found = facts_check(repair=True)
    assert found["readiness_levels"] == 1 and found["readiness_days"] == 0
    assert _readiness(team.commune_id) == {"has_smartphone": (1, 1), "knows_scams": (0, 1)}
    assert set(facts_check(repair=False).values()) == {0}
