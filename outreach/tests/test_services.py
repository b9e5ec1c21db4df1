"""The write paths of outreach: constraints, idempotent visits, roll-up buckets, scope."""

import datetime as dt
import threading
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.access import NotAllowed
from accounts.models import ScopeLevel, User
from accounts.scopes import scope_for
from accounts.tests.factories import UserFactory, district_staff
from communes.models import Commune
from dashboard.models import PendingRollup
from outreach.models import Household, Member, Service, Visit
from outreach.services import (
    EntryInvalid,
    VisitConflict,
    households_merge,
    member_create,
    member_create_many,
    member_deactivate,
    member_login_create,
    member_update,
    team_create,
    visit_delete,
    visit_record,
    visit_update,
)
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory, visit_entries

DAY = dt.date(2026, 11, 20)


def _data(team, **overrides) -> VisitData:
    members = overrides.pop("members", None) or list(team.members.filter(is_active=True))
    values = {
        "visited_on": DAY,
        "members": members,
        "services": list(Service.objects.filter(code__in=["portal_account", "mobile_banking"])),
        "residents_helped": 2,
        "readiness": {"has_smartphone": True, "portal_account": True},
    }
    values.update(overrides)
    return VisitData(**values)


def _record(leader, team, hamlet, address_label, data, sid=None):
    """Log a visit as the leader, with a fresh submission id unless one is given."""
    return visit_record(
        by=leader,
        team=team,
        submission_id=sid or uuid.uuid4(),
        hamlet=hamlet,
        address_label=address_label,
        data=data,
    )


def _buckets() -> set[tuple[int, dt.date]]:
    return set(PendingRollup.objects.values_list("commune_id", "day"))


@pytest.mark.django_db
def test_a_team_has_at_most_one_active_leader_enforced_by_the_database(team):
    MemberFactory(team=team, role=Member.Role.LEADER)
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberFactory(team=team, role=Member.Role.LEADER)


@pytest.mark.django_db
def test_a_second_leader_is_refused_with_a_message_on_the_role(team, official):
    MemberFactory(team=team, role=Member.Role.LEADER)
    with pytest.raises(ValidationError) as refused:
        member_create(by=official, team=team, full_name="Trần Văn B", role="leader", joined_on=DAY)
    assert "role" in refused.value.message_dict
    assert team.members.count() == 1


@pytest.mark.django_db
def test_a_former_leader_does_not_block_a_new_one(team, official):
    old = MemberFactory(team=team, role=Member.Role.LEADER)
    member_deactivate(by=official, member=old, left_on=DAY)
    new = member_create(by=official, team=team, full_name="Lê Thị C", role="leader", joined_on=DAY)
    assert new.role == "leader"


@pytest.mark.django_db
def test_member_phone_is_normalised_and_unique_among_active_members(team, official):
    member = member_create(
        by=official,
        team=team,
        full_name="  Nguyễn   Văn  A ",
        role="member",
        phone="+84 162 345 6789",
        joined_on=DAY,
    )
    assert (member.phone, member.full_name) == ("0323456789", "Nguyễn Văn A")
    with pytest.raises(ValidationError) as taken:
        member_create(
            by=official,
            team=team,
            full_name="B",
            role="member",
            phone="0323 456 789",
            joined_on=DAY,
        )
    assert "phone" in taken.value.message_dict
    with pytest.raises(ValidationError) as bad:
        member_create(
            by=official, team=team, full_name="C", role="member", phone="12345", joined_on=DAY
        )
    assert "phone" in bad.value.message_dict


def _entries(team, count, **fields):
    return [
        (
            team,
            {
                "full_name": f"  Thành  viên {n} ",
                "role": "member",
                "phone": f"+84 91 {n:07d}",
                "joined_on": DAY - dt.timedelta(days=n % 3),
                **fields,
            },
        )
        for n in range(count)
    ]


@pytest.mark.django_db
def test_a_batch_of_members_is_stored_as_member_create_would_store_each(team, official):
    entries = _entries(team, 5)
    entries[0][1].update(role="leader", zalo_joined_on=DAY)
    PendingRollup.objects.all().delete()

    created = member_create_many(by=official, entries=entries)

    stored = list(team.members.order_by("pk"))
    assert [m.pk for m in created] == [m.pk for m in stored]
    assert stored[0].full_name == "Thành viên 0"
    assert stored[0].full_name_folded == "thanh vien 0"
    assert stored[0].phone == "0910000000"
    assert stored[0].on_zalo_oa  # a Zalo date means the member joined, as in member_create
    assert {m.role for m in stored} == {"leader", "member"}
    assert _buckets() == {(team.commune_id, DAY - dt.timedelta(days=d)) for d in range(3)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case, field",
    [
        ("second leader in the batch", "role"),
        ("leader beside a stored leader", "role"),
        ("phone twice in the batch", "phone"),
        ("phone of a stored active member", "phone"),
        ("bad phone", "phone"),
        ("birth year out of range", "birth_year"),
    ],
)
def test_a_batch_breaking_a_rule_is_refused_whole_naming_the_entry(team, official, case, field):
    entries = _entries(team, 4)
    bad = entries[2][1]
    if case == "second leader in the batch":
        entries[0][1]["role"] = bad["role"] = "leader"
    elif case == "leader beside a stored leader":
        MemberFactory(team=team, role=Member.Role.LEADER, phone="")
        bad["role"] = "leader"
    elif case == "phone twice in the batch":
        bad["phone"] = entries[1][1]["phone"]
    elif case == "phone of a stored active member":
        MemberFactory(team=TeamFactory(commune=team.commune), phone="0910000002")
    elif case == "bad phone":
        bad["phone"] = "12345"
    else:
        bad["birth_year"] = 1800
    before = Member.objects.count()

    with pytest.raises(EntryInvalid) as refused:
        member_create_many(by=official, entries=entries)

    assert refused.value.index == 2
    assert field in refused.value.message_dict
    assert Member.objects.count() == before


@pytest.mark.django_db
def test_a_batch_for_a_team_outside_the_scope_is_refused(divisions, official):
    elsewhere = TeamFactory(commune=Commune.objects.exclude(code=14269).first())
    with pytest.raises(NotAllowed):
        member_create_many(by=official, entries=_entries(elsewhere, 2))
    assert not elsewhere.members.exists()


@pytest.mark.django_db
def test_a_batch_costs_the_same_queries_at_ten_or_three_hundred_members(hai_dong, official):
    def queries(count: int, prefix: str) -> int:
        team = TeamFactory(commune=hai_dong)
        entries = [
            (t, {**f, "phone": f"{prefix}{n:07d}"})
            for n, (t, f) in enumerate(_entries(team, count))
        ]
        with CaptureQueriesContext(connection) as captured:
            member_create_many(by=official, entries=entries)
        return len(captured)

    queries(1, "097")  # the first call also loads the user's permissions
    # One INSERT per thousand members at most; nothing per member.
    assert queries(10, "098") == queries(300, "096")


@pytest.mark.django_db
def test_team_name_is_unique_within_the_commune_in_any_case_or_typed_without_marks(
    hai_dong, official
):
    team_create(by=official, commune=hai_dong, name="Tổ CNS thôn Đông", formed_on=DAY)
    for again in ("to cns thon dong", "TỔ CNS THÔN ĐÔNG"):
        with pytest.raises(ValidationError):
            team_create(by=official, commune=hai_dong, name=again, formed_on=DAY)
    # Another tone mark is another name: "thôn Đồng" is not "thôn Đông".
    team_create(by=official, commune=hai_dong, name="Tổ CNS thôn Đồng", formed_on=DAY)


@pytest.mark.django_db
def test_a_commune_official_cannot_write_in_another_commune(divisions, official):
    elsewhere = Commune.objects.get(code=13636)
    with pytest.raises(NotAllowed):
        team_create(by=official, commune=elsewhere, name="Tổ 1", formed_on=DAY)
    staff = district_staff(Commune.objects.get(code=14269).district)
    with pytest.raises(NotAllowed):  # district staff read, they do not write
        team_create(by=staff, commune=Commune.objects.get(code=14269), name="Tổ 1", formed_on=DAY)


@pytest.mark.django_db
def test_a_leader_login_is_named_by_the_phone_and_scoped_to_the_team(leader, team):
    assert leader.username == "0912345678"
    assert leader.scope_level == ScopeLevel.TEAM
    scope = scope_for(User.objects.get(pk=leader.pk))
    assert scope.team_ids == {team.pk}
    assert leader.groups.filter(name="team_leaders").exists()


@pytest.mark.django_db
def test_a_leader_who_steps_down_loses_the_login(leader, team, official):
    member = leader.member
    member_update(by=official, member=member, role="member")
    assert not User.objects.get(pk=leader.pk).is_active


@pytest.mark.django_db
def test_a_visit_is_stored_once_per_submission_id(leader, team, hamlet):
    sid = uuid.uuid4()
    first, created = _record(leader, team, hamlet, "Số 5", _data(team), sid=sid)
    again, created_again = _record(leader, team, hamlet, "số 5", _data(team), sid=sid)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Visit.objects.count() == 1
    assert Household.objects.count() == 1
    assert visit_entries(action="created").count() == 1


@pytest.mark.django_db
def test_the_same_submission_id_with_other_content_is_a_conflict(leader, team, hamlet):
    sid = uuid.uuid4()
    _record(leader, team, hamlet, "Số 5", _data(team), sid=sid)
    with pytest.raises(VisitConflict):
        _record(leader, team, hamlet, "Số 5", _data(team, residents_helped=3), sid=sid)
    assert Visit.objects.get().residents_helped == 2


@pytest.mark.django_db
def test_the_same_submission_id_from_another_team_never_touches_the_first(
    leader, team, hamlet, hai_dong, official
):
    sid = uuid.uuid4()
    _record(leader, team, hamlet, "Số 5", _data(team), sid=sid)
    other = TeamFactory(commune=hai_dong)
    other_leader_member = MemberFactory(team=other, role="leader", phone="0987654321")
    other_leader, _pw = member_login_create(by=official, member=other_leader_member)
    with pytest.raises(VisitConflict) as conflict:
        _record(other_leader, other, hamlet, "Số 5", _data(other), sid=sid)
    assert conflict.value.visit is None
    assert Visit.objects.get().team_id == team.pk


@pytest.mark.django_db
def test_a_leader_cannot_log_a_visit_for_another_team(leader, hai_dong, hamlet):
    other = TeamFactory(commune=hai_dong)
    MemberFactory(team=other)
    with pytest.raises(NotAllowed):
        _record(leader, other, hamlet, "Số 5", _data(other))
    assert not Visit.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"visited_on": dt.date(2099, 1, 1)}, "visited_on"),
        ({"visited_on": dt.date(2020, 1, 1)}, "visited_on"),
    ],
)
def test_visit_dates_must_be_past_and_after_the_team_was_formed(
    leader, team, hamlet, overrides, field
):
    with pytest.raises(ValidationError) as refused:
        _record(leader, team, hamlet, "Số 5", _data(team, **overrides))
    assert field in refused.value.message_dict
    assert not Visit.objects.exists() and not Household.objects.exists()


@pytest.mark.django_db
def test_moving_a_visit_marks_the_old_and_the_new_day_for_the_roll_up(leader, team, hamlet):
    visit, _ = _record(leader, team, hamlet, "Số 5", _data(team))
    PendingRollup.objects.all().delete()
    new_day = DAY - dt.timedelta(days=3)

    visit_update(
        by=leader,
        visit=visit,
        hamlet=hamlet,
        address_label="Số 7",
        data=_data(team, visited_on=new_day),
    )

    assert _buckets() == {(team.commune_id, DAY), (team.commune_id, new_day)}
    change = visit_entries().get(action="changed")
    assert change.changes["visited_on"] == [DAY.isoformat(), new_day.isoformat()]
    assert change.changes["household"] == ["Số 5", "Số 7"]


@pytest.mark.django_db
def test_the_latest_visit_answer_wins_and_earlier_answers_stay(leader, team, hamlet):
    _record(
        leader,
        team,
        hamlet,
        "Số 5",
        _data(team, visited_on=DAY, readiness={"mobile_banking": False, "knows_scams": True}),
    )
    _record(
        leader,
        team,
        hamlet,
        "Số 5",
        _data(team, visited_on=DAY + dt.timedelta(days=1), readiness={"mobile_banking": True}),
    )
    household = Household.objects.get()
    assert (household.mobile_banking, household.knows_scams, household.telemedicine) == (
        True,
        True,
        None,
    )
    assert list(Visit.objects.order_by("visited_on").values_list("mobile_banking", flat=True)) == [
        False,
        True,
    ]


@pytest.mark.django_db
def test_a_leader_edits_for_7_days_then_no_more(leader, team, hamlet):
    visit, _ = _record(leader, team, hamlet, "Số 5", _data(team))
    Visit.objects.filter(pk=visit.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    leader = User.objects.get(pk=leader.pk)
    with pytest.raises(NotAllowed):
        visit_delete(by=leader, visit=visit)
    assert Visit.objects.filter(pk=visit.pk).exists()


@pytest.mark.django_db
def test_deleting_a_visit_is_recorded_and_marks_its_day(leader, team, hamlet):
    visit, _ = _record(leader, team, hamlet, "Số 5", _data(team))
    PendingRollup.objects.all().delete()
    visit_delete(by=leader, visit=visit)
    assert _buckets() == {(team.commune_id, DAY)}
    deleted = visit_entries().get(action="deleted")
    assert deleted.object_id == visit.pk and deleted.changes["residents_helped"] == 2


@pytest.mark.django_db
def test_merging_households_moves_their_visits_to_the_one_kept(leader, team, hamlet, official):
    a, _ = _record(leader, team, hamlet, "Số 5", _data(team))
    b, _ = _record(
        leader, team, hamlet, "Nhà số 5", _data(team, visited_on=DAY - dt.timedelta(days=1))
    )
    PendingRollup.objects.all().delete()

    kept = households_merge(by=official, keep=a.household, remove=b.household)

    assert Household.objects.count() == 1
    assert set(kept.visits.values_list("pk", flat=True)) == {a.pk, b.pk}
    assert _buckets() == {(team.commune_id, DAY), (team.commune_id, DAY - dt.timedelta(days=1))}


@pytest.mark.django_db
def test_a_refused_write_leaves_no_bucket_behind(leader, team, hamlet):
    with pytest.raises(ValidationError):
        _record(leader, team, hamlet, "Số 5", _data(team, visited_on=dt.date(2099, 1, 1)))
    assert not PendingRollup.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submissions_store_one_visit(reference_data, divisions):
    hai_dong = Commune.objects.get(code=14269)
    team = TeamFactory(commune=hai_dong)
    hamlet = HamletFactory(commune=hai_dong)
    member = MemberFactory(team=team, role="leader", phone="0912345678")
    leader, _pw = member_login_create(by=UserFactory(is_superuser=True), member=member)
    sid = uuid.uuid4()
    results, errors = [], []
    barrier = threading.Barrier(6)

    def submit():
        try:
            barrier.wait()
            results.append(
                visit_record(
                    by=User.objects.get(pk=leader.pk),
                    team=team,
                    submission_id=sid,
                    hamlet=hamlet,
                    address_label="Số 9",
                    data=_data(team),
                )
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert Visit.objects.count() == 1
    assert sorted(created for _visit, created in results) == [False] * 5 + [True]
    assert len({visit.pk for visit, _created in results}) == 1


@pytest.mark.django_db
def test_a_leader_cannot_demote_or_remove_themselves(leader):
    member = Member.objects.get(user=leader)
    leader = User.objects.get(pk=leader.pk)
    with pytest.raises(ValidationError) as demoted:
        member_update(by=leader, member=member, role="member")
    assert "role" in demoted.value.message_dict
    with pytest.raises(ValidationError):
        member_deactivate(by=leader, member=member, left_on=DAY)
    member.refresh_from_db()
    assert (member.role, member.is_active) == ("leader", True)


@pytest.mark.django_db
def test_a_new_visit_marks_its_day_and_the_households_later_days_only(leader, team, hamlet):
    """Whether a visit is its household's first depends only on the visits before it, so
    a new visit leaves the earlier days' figures as they are: a return visit today marks
    today alone, however long the household's history."""
    early, late = DAY - dt.timedelta(days=30), DAY - dt.timedelta(days=10)
    _record(leader, team, hamlet, "Số 5", _data(team, visited_on=early))
    _record(leader, team, hamlet, "Số 5", _data(team, visited_on=late))
    PendingRollup.objects.all().delete()

    _record(leader, team, hamlet, "Số 5", _data(team, visited_on=DAY))
    assert _buckets() == {(team.commune_id, DAY)}

    # A visit back in time, after the household's first: its own day alone.
    PendingRollup.objects.all().delete()
    between = DAY - dt.timedelta(days=20)
    _record(leader, team, hamlet, "Số 5", _data(team, visited_on=between))
    assert _buckets() == {(team.commune_id, between)}

    # Before the first: the first's day too, whose visit is a return visit now.
    PendingRollup.objects.all().delete()
    before = DAY - dt.timedelta(days=40)
    _record(leader, team, hamlet, "Số 5", _data(team, visited_on=before))
    assert _buckets() == {(team.commune_id, d) for d in (before, early)}
    ranks = Visit.objects.order_by("visited_on").values_list(
        "visited_on", "first_for_household", "first_for_team"
    )
    assert list(ranks) == [
        (before, True, True),
        (early, False, False),
        (between, False, False),
        (late, False, False),
        (DAY, False, False),
    ]
