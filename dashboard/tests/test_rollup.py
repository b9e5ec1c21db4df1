"""The roll-up: exact figures after any sequence of changes, safe to run twice or at once."""

import contextlib
import csv
import datetime as dt
import io
import random
import uuid

import pytest
from celery import current_app
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from communes.models import Commune
from core.marks import ChangeSource
from dashboard import rollup
from dashboard.models import (
    CommuneDay,
    PendingRollup,
    RollupState,
    TeamDay,
    TeamTotal,
    TrainingDay,
    TrainingYear,
)
from dashboard.queue import ROLLUP_TASK
from outreach.imports import (
    member_import_apply,
    member_import_apply_request,
    member_import_check,
)
from outreach.models import (
    READINESS_FIELDS,
    Household,
    Member,
    MemberDay,
    MemberImport,
    Service,
    Team,
    Visit,
)
from outreach.services import (
    households_merge,
    member_create,
    member_deactivate,
    member_update,
    team_create,
    team_dissolve,
    visit_delete,
    visit_record,
    visit_update,
)
from outreach.services.facts import facts_check
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory
from trainings.models import OFFICIAL_AUDIENCES, Audience, Level, TrainingSession
from trainings.services import (
    attendance_add,
    attendance_remove,
    course_enrolment_save,
    headcount_set,
    session_create,
    session_update,
)

from .exact import assert_figures_exact, stored_figures

START = dt.date(2026, 8, 1)
CODES = [14269, 14272, 13603]  # Hải Đông, Hải Tây (Hải Hậu), Mỹ Phúc (Mỹ Lộc)


def _day(rng: random.Random) -> dt.date:
    return START + dt.timedelta(days=rng.randrange(60))


# --- The figures recomputed from the raw rows, independently of the roll-up ----------


# --- A random sequence of changes ----------------------------------------------------


class Campaign:
    """Applies random changes through the services, as the portal's users would."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.admin = User.objects.create_superuser("0900000001", password="x")
        self.communes = list(Commune.objects.filter(code__in=CODES))
        self.hamlets = {c.pk: [HamletFactory(commune=c) for _ in range(3)] for c in self.communes}
        self.services = list(Service.objects.all())
        self.teams: list[Team] = []
        self.phone = 912000000
        for commune in self.communes:
            for _ in range(2):
                self.team_new(commune)

    def team_new(self, commune=None) -> None:
        commune = commune or self.rng.choice(self.communes)
        team = team_create(
            by=self.admin,
            commune=commune,
            name=f"Tổ {len(self.teams) + 1}",
            formed_on=START - dt.timedelta(days=self.rng.randrange(30)),
        )
        self.teams.append(team)
        for role in ("leader", "member", "member"):
            self.member_new(team, role)

    def member_new(self, team=None, role="member") -> None:
        team = team or self.rng.choice(self.teams)
        self.phone += 1
        zalo = self.rng.random() < 0.5
        member_create(
            by=self.admin,
            team=team,
            full_name=f"Thành viên {self.phone}",
            phone=f"0{self.phone}",
            role=role,
            joined_on=team.formed_on + dt.timedelta(days=self.rng.randrange(20)),
            on_zalo_oa=zalo,
            zalo_joined_on=_day(self.rng) if zalo and self.rng.random() < 0.5 else None,
        )

    def _active_team(self) -> Team:
        return self.rng.choice([t for t in self.teams if t.dissolved_on is None])

    def _visit_data(self, team: Team, **overrides) -> VisitData:
        members = list(team.members.filter(is_active=True))
        readiness = {
            item: self.rng.choice([True, False, None])
            for item in self.rng.sample(READINESS_FIELDS, 3)
        }
        values = {
            "visited_on": max(_day(self.rng), team.formed_on),
            "members": self.rng.sample(members, min(len(members), self.rng.randint(1, 2))),
            "services": self.rng.sample(self.services, self.rng.randint(0, 3)),
            "residents_helped": self.rng.randint(0, 4),
            "readiness": readiness,
        }
        values.update(overrides)
        return VisitData(**values)

    def visit_new(self) -> None:
        team = self._active_team()
        if not team.members.filter(is_active=True).exists():
            return
        visit_record(
            by=self.admin,
            team=team,
            submission_id=uuid.uuid4(),
            hamlet=self.rng.choice(self.hamlets[team.commune_id]),
            address_label=f"Số {self.rng.randint(1, 12)}",
            data=self._visit_data(team),
        )

    def visit_edit(self) -> None:
        visit = Visit.objects.select_related("team").order_by("?").first()
        if visit is None or not visit.team.members.filter(is_active=True).exists():
            return
        # Moves it to another day and, often, to another household of the commune.
        visit_update(
            by=self.admin,
            visit=visit,
            hamlet=self.rng.choice(self.hamlets[visit.team.commune_id]),
            address_label=f"Số {self.rng.randint(1, 12)}",
            data=self._visit_data(visit.team),
        )

    def visit_remove(self) -> None:
        visit = Visit.objects.order_by("?").first()
        if visit is not None:
            visit_delete(by=self.admin, visit=visit)

    def merge(self) -> None:
        commune = self.rng.choice(self.communes)
        households = list(Household.objects.filter(commune=commune).order_by("?")[:2])
        if len(households) == 2:
            households_merge(by=self.admin, keep=households[0], remove=households[1])

    def member_leave(self) -> None:
        member = Member.objects.filter(is_active=True).exclude(role="leader").order_by("?").first()
        if member is not None:
            member_deactivate(by=self.admin, member=member, left_on=_day(self.rng))

    def member_move(self) -> None:
        member = Member.objects.filter(is_active=True, role="member").order_by("?").first()
        if member is not None:
            member_update(
                by=self.admin,
                member=member,
                team=self._active_team(),
                on_zalo_oa=not member.on_zalo_oa,
                zalo_joined_on=None,
            )

    def team_end(self) -> None:
        if len([t for t in self.teams if t.dissolved_on is None]) > 3:
            team = self._active_team()
            team_dissolve(by=self.admin, team=team, dissolved_on=_day(self.rng))
            team.refresh_from_db()

    def member_import(self) -> None:
        commune = self.rng.choice(self.communes)
        rows = []
        for _ in range(3):
            self.phone += 1
            rows.append(
                [commune.code, "Tổ nhập", f"Người {self.phone}", f"0{self.phone}", "Thành viên"]
            )
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ["Mã xã", "Tên tổ", "Họ và tên", "Số điện thoại", "Vai trò", "Ngày tham gia"]
        )
        for row in rows:
            writer.writerow([*row, _day(self.rng).strftime("%d/%m/%Y")])
        item = MemberImport.objects.create(
            created_by=self.admin, file_name="ds.csv", content=buffer.getvalue().encode("utf-8-sig")
        )
        member_import_check(item)
        item.refresh_from_db()
        assert item.status == MemberImport.Status.CHECKED, item.result
        member_import_apply_request(member_import=item)
        item.refresh_from_db()
        member_import_apply(item)
        item.refresh_from_db()
        assert item.status == MemberImport.Status.DONE, item.result
        self.teams = list(Team.objects.all())

    def session_new(self) -> None:
        level = self.rng.choice([Level.COMMUNE, Level.DISTRICT, Level.PROVINCE])
        commune = self.rng.choice(self.communes)
        day = _day(self.rng)
        session = session_create(
            by=self.admin,
            title="Tập huấn kỹ năng số",
            format=TrainingSession.Format.COMMUNITY_TRAINING,
            audience=self.rng.choice(list(Audience)),
            level=level,
            district=commune.district,
            commune=commune,
            starts_on=day,
            ends_on=day,
            status=TrainingSession.Status.HELD,
        )
        for n in range(self.rng.randint(0, 3)):
            attendance_add(
                by=self.admin, session=session, full_name=f"Học viên {self.rng.randint(1, 9)} {n}"
            )
        if self.rng.random() < 0.3:
            headcount_set(by=self.admin, session=session, total=session.attendances.count() + 5)

    def session_change(self) -> None:
        session = TrainingSession.objects.order_by("?").first()
        if session is None:
            return
        if session.attendances.exists() and self.rng.random() < 0.5:
            attendance_remove(by=self.admin, attendance=session.attendances.first())
            return
        day = _day(self.rng)
        changes = {"starts_on": day, "ends_on": day}
        if not session.attendances.exists() and self.rng.random() < 0.5:
            changes["status"] = TrainingSession.Status.CANCELLED
        session_update(by=self.admin, session=session, **changes)

    def course(self) -> None:
        commune = self.rng.choice(self.communes)
        agency = self.rng.choice([f"UBND xã {commune.name}", "Sở Tư pháp", ""])
        course_enrolment_save(
            by=self.admin,
            course="Kỹ năng số cơ bản",
            full_name=f"Cán bộ {self.rng.randint(1, 15)}",
            agency=agency,
            completed_on=self.rng.choice([None, _day(self.rng)]),
        )

    def step(self) -> None:
        action = self.rng.choices(
            [
                self.visit_new,
                self.visit_edit,
                self.visit_remove,
                self.merge,
                self.member_new,
                self.member_leave,
                self.member_move,
                self.team_new,
                self.team_end,
                self.session_new,
                self.session_change,
                self.course,
            ],
            weights=[30, 8, 4, 3, 3, 2, 2, 1, 1, 4, 3, 4],
        )[0]
        # A refused change (as the form would refuse it) stores nothing.
        with contextlib.suppress(ValidationError):
            action()


@pytest.mark.parametrize("seed", [1, 2])
def test_pending_roll_ups_after_random_changes_equal_a_recomputation_from_raw_rows(divisions, seed):
    rng = random.Random(seed)
    campaign = Campaign(rng)
    campaign.member_import()
    for _round in range(4):
        for _ in range(30):
            campaign.step()
        # The facts the services recorded as they wrote are those of the raw rows.
        assert set(facts_check(repair=False).values()) == {0}
        rollup.rollup_pending()
        assert not PendingRollup.objects.exists()
        assert_figures_exact(CODES)
    # Nothing left to do: a second run changes nothing, nor do full runs from the facts.
    before = stored_figures()
    rollup.rollup_pending()
    assert stored_figures() == before
    for _twice in range(2):
        rollup.rollup_full()
        assert stored_figures() == before
    assert RollupState.objects.get().facts_differences_total == 0


def test_a_full_roll_up_twice_gives_the_same_figures_as_the_pending_ones(divisions):
    campaign = Campaign(random.Random(7))
    for _ in range(60):
        campaign.step()
    rollup.rollup_pending()
    pending = stored_figures()
    rollup.rollup_full()
    first = stored_figures()
    rollup.rollup_full()
    assert stored_figures() == first == pending
    assert_figures_exact(CODES)
    assert RollupState.objects.get().last_full_at is not None


def test_the_full_run_repairs_wrong_facts_says_so_and_rebuilds_from_the_right_ones(
    divisions, caplog
):
    campaign = Campaign(random.Random(11))
    for _ in range(40):
        campaign.visit_new()
    rollup.rollup_pending()
    right = stored_figures()
    # A writer that went around the services: a household's first visit unmarked, a
    # member day lost.
    first = Visit.objects.filter(first_for_household=True).order_by("pk").first()
    Visit.objects.filter(pk=first.pk).update(first_for_household=False)
    MemberDay.objects.filter(pk=MemberDay.objects.order_by("pk").first().pk).delete()
    rollup.rollup_full()
    assert stored_figures() == right
    assert_figures_exact(CODES)
    state = RollupState.objects.get()
    assert (state.facts_differences_last, state.facts_differences_total) == (2, 2)
    assert state.facts_check_seconds > 0
    errors = [r for r in caplog.records if r.levelname == "ERROR" and r.name == "dashboard.rollup"]
    assert [r.getMessage() for r in errors] == [
        "write-time facts differed from the raw rows and were repaired: "
        "visit_ranks 1, member_days 1"
    ]
    # Repaired: the next check finds nothing, and the total keeps what was found.
    rollup.rollup_full()
    state.refresh_from_db()
    assert (state.facts_differences_last, state.facts_differences_total) == (0, 2)


def test_a_bucket_marked_during_a_run_is_kept_for_the_next(divisions, monkeypatch):
    campaign = Campaign(random.Random(3))
    campaign.visit_new()
    original = rollup._recompute

    def meanwhile(claimed, now):
        # A volunteer submits while the roll-up computes: a new mark, not yet claimed.
        result = original(claimed, now)
        campaign.visit_new()
        return result

    monkeypatch.setattr(rollup, "_recompute", meanwhile)
    rollup.rollup_pending(batch=10_000_000)
    assert PendingRollup.objects.exists()
    monkeypatch.setattr(rollup, "_recompute", original)
    rollup.rollup_pending()
    assert not PendingRollup.objects.exists()
    assert_figures_exact(CODES)


def test_a_failed_run_leaves_the_figures_and_the_marks_as_they_were(divisions, monkeypatch):
    campaign = Campaign(random.Random(4))
    rollup.rollup_pending()
    before = stored_figures()
    for _ in range(5):
        campaign.visit_new()
    marks = PendingRollup.objects.count()

    def killed(*args, **kwargs):
        raise RuntimeError("worker killed")

    # Killed after the day rows were written, before the running totals.
    monkeypatch.setattr(rollup, "running_totals_refresh", killed)
    with pytest.raises(RuntimeError):
        rollup.rollup_pending()
    assert stored_figures() == before
    assert PendingRollup.objects.count() == marks


def test_roll_up_tasks_resolve_by_their_registered_names():
    assert ROLLUP_TASK == "dashboard.rollup_pending"
    for name in ("dashboard.rollup_pending", "dashboard.rollup_full"):
        task = current_app.tasks[name]
        assert task.acks_late
        assert task.reject_on_worker_lost
    schedule = {entry["task"] for entry in current_app.conf.beat_schedule.values()}
    assert {"dashboard.rollup_pending", "dashboard.rollup_full"} <= schedule


def test_a_logged_visit_reaches_the_summary_on_commit_through_the_task(
    divisions, django_capture_on_commit_callbacks
):
    # Everything in one block: the test's transaction never commits, and one request
    # per transaction is queued however many changes it marks.
    with django_capture_on_commit_callbacks(execute=True):
        campaign = Campaign(random.Random(5))
        campaign.visit_new()
    assert Visit.objects.exists()
    assert not PendingRollup.objects.exists()
    assert sum(CommuneDay.objects.values_list("visits", flat=True)) == Visit.objects.count()


def test_rollup_command_runs_pending_and_full(divisions):
    campaign = Campaign(random.Random(6))
    campaign.visit_new()
    out = io.StringIO()
    call_command("rollup", stdout=out)
    assert not PendingRollup.objects.exists()
    assert_figures_exact(CODES)
    call_command("rollup", "--full", stdout=out)
    assert RollupState.objects.get().last_full_at is not None
    assert len(out.getvalue().splitlines()) == 2  # one summary line per run
    assert_figures_exact(CODES)


def test_officials_trained_counts_a_person_once_across_sessions_and_courses(divisions):
    campaign = Campaign(random.Random(8))
    commune = campaign.communes[0]
    day = dt.date(2026, 9, 10)
    for _ in range(3):
        session = session_create(
            by=campaign.admin,
            title="Hội nghị",
            format=TrainingSession.Format.COMMUNITY_TRAINING,
            audience=OFFICIAL_AUDIENCES[1],
            level=Level.COMMUNE,
            commune=commune,
            starts_on=day,
            ends_on=day,
            status=TrainingSession.Status.HELD,
        )
        attendance_add(
            by=campaign.admin, session=session, full_name="Trần Văn Bình", phone="0987000111"
        )
    course_enrolment_save(
        by=campaign.admin,
        course="Chuyển đổi số",
        full_name="Trần Văn Bình",
        phone="0987000111",
        agency=f"UBND xã {commune.name}",
        completed_on=day,
    )
    with transaction.atomic():
        rollup.rollup_pending()
    province = TrainingYear.objects.get(year=2026, district=None, commune=None)
    assert province.officials_trained == 1
    assert sum(TrainingDay.objects.values_list("sessions_held", flat=True)) == 3


def test_a_team_whose_only_visit_is_deleted_has_its_total_back_to_nothing(divisions):
    campaign = Campaign(random.Random(9))
    campaign.visit_new()
    rollup.rollup_pending()
    visit = Visit.objects.get()
    total = TeamTotal.objects.get(team_id=visit.team_id)
    assert (total.visits, total.households_reached) == (1, 1)
    visit_delete(by=campaign.admin, visit=visit)
    rollup.rollup_pending()
    total = TeamTotal.objects.get(team_id=visit.team_id)
    assert (total.visits, total.households_reached, total.last_visited_on) == (0, 0, None)
    assert not TeamDay.objects.exists()
    assert_figures_exact(CODES)


def test_a_mark_for_a_commune_without_teams_recomputes_its_figures(divisions):
    campaign = Campaign(random.Random(10))
    rollup.rollup_pending()
    elsewhere = Commune.objects.exclude(code__in=CODES).exclude(
        pk__in=Team.objects.values("commune")
    )
    commune = elsewhere.first()
    course_enrolment_save(
        by=campaign.admin,
        course="Kỹ năng số cơ bản",
        full_name="Lê Thị Hoa",
        commune=commune,
        completed_on=START,
    )
    rollup.rollup_pending()
    assert not PendingRollup.objects.exists()
    assert TrainingDay.objects.filter(commune=commune, course_completions=1).exists()
    assert not TeamTotal.objects.filter(commune_id=commune.pk).exists()
    assert_figures_exact(CODES)


def test_the_marks_of_one_bucket_beyond_a_batch_are_recomputed_once(divisions, monkeypatch):
    """A burst marks one bucket thousands of times: the run claims every mark of the
    buckets in its batch, so the bucket is recomputed once, and the other buckets after."""
    campaign = Campaign(random.Random(11))
    for _ in range(3):
        campaign.visit_new()
    rollup.rollup_pending()
    visit = Visit.objects.select_related("team").first()
    bucket = {"commune_id": visit.team.commune_id, "source": ChangeSource.OUTREACH}
    PendingRollup.objects.bulk_create(
        [PendingRollup(day=visit.visited_on, **bucket) for _ in range(25)]
    )
    PendingRollup.objects.create(day=visit.visited_on - dt.timedelta(days=1), **bucket)
    recomputed = []
    real = rollup._recompute
    monkeypatch.setattr(
        rollup,
        "_recompute",
        lambda claimed, now: recomputed.append(len(claimed)) or real(claimed, now),
    )

    result = rollup.rollup_pending(batch=10)

    assert recomputed == [25, 1]
    assert result.claimed == 26
    assert not PendingRollup.objects.exists()
    assert_figures_exact(CODES)


def test_a_day_typed_in_the_year_9999_does_not_stop_the_roll_up(divisions):
    # Forms accept such days (a session's start, a member's day of joining Zalo). Every
    # run once stopped on their mark and kept it, so the dashboards stopped changing.
    campaign = Campaign(random.Random(12))
    last_day = dt.date(9999, 12, 31)
    session = session_create(
        by=campaign.admin,
        title="Tập huấn",
        format=TrainingSession.Format.COMMUNITY_TRAINING,
        audience=Audience.RESIDENTS,
        level=Level.COMMUNE,
        commune=campaign.communes[0],
        starts_on=last_day,
        ends_on=last_day,
        status=TrainingSession.Status.HELD,
    )
    attendance_add(by=campaign.admin, session=session, full_name="Lê Thị Hoa")
    member_update(
        by=campaign.admin,
        member=Member.objects.first(),
        on_zalo_oa=True,
        zalo_joined_on=dt.date(9999, 12, 20),
    )
    campaign.visit_new()

    rollup.rollup_pending()

    assert not PendingRollup.objects.exists()
    assert_figures_exact(CODES)


def test_marks_left_by_the_code_before_the_roster_was_told_apart_count_as_the_roster(divisions):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("dashboard.migrations.0014_roster_marks")
    commune = Commune.objects.get(code=CODES[0])
    day = dt.date(2026, 5, 4)
    for source in (ChangeSource.OUTREACH, ChangeSource.TRAININGS):
        PendingRollup.objects.create(commune=commune, day=day, source=source)
    migration.pending_as_roster(apps, None)
    assert sorted(PendingRollup.objects.values_list("source", flat=True)) == [
        ChangeSource.ROSTER,
        ChangeSource.TRAININGS,
    ]
