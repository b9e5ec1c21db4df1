"""The roll-up: exact figures after any sequence of changes, safe to run twice or at once."""

import contextlib
import csv
import datetime as dt
import io
import random
import uuid
from collections import Counter, defaultdict

import pytest
from celery import current_app
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q

from accounts.models import User
from communes.models import Commune, PendingRollup, RollupSource
from communes.services import ROLLUP_TASK
from dashboard import rollup
from dashboard.models import (
    CommuneDay,
    CommuneDayService,
    CommuneMonth,
    CommuneMonthService,
    CommuneReadiness,
    HamletDay,
    RollupState,
    TeamDay,
    TeamTotal,
    TrainingDay,
    TrainingYear,
)
from outreach.imports import (
    member_import_apply,
    member_import_apply_request,
    member_import_check,
)
from outreach.models import READINESS_FIELDS, Household, Member, MemberImport, Service, Team, Visit
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
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory
from trainings.models import OFFICIAL_AUDIENCES, Audience, Level, TrainingSession
from trainings.selectors import training_figures
from trainings.services import (
    attendance_add,
    attendance_remove,
    course_enrolment_save,
    headcount_set,
    session_create,
    session_update,
)

START = dt.date(2026, 8, 1)
CODES = [14269, 14272, 13603]  # Hải Đông, Hải Tây (Hải Hậu), Mỹ Phúc (Mỹ Lộc)


def _day(rng: random.Random) -> dt.date:
    return START + dt.timedelta(days=rng.randrange(60))


# --- The figures recomputed from the raw rows, independently of the roll-up ----------


def _expected() -> dict[str, set]:
    """Every summary figure recomputed in Python from the raw rows."""
    visits = list(
        Visit.objects.select_related("team", "household").prefetch_related("members", "services")
    )
    first_of: dict[int, Visit] = {}
    for visit in sorted(visits, key=lambda v: (v.visited_on, v.pk)):
        first_of.setdefault(visit.household_id, visit)
    communes = dict(Commune.objects.values_list("pk", "district_id"))

    days: dict[tuple, Counter] = defaultdict(Counter)
    members_out: dict[tuple, set] = defaultdict(set)
    teams_out: dict[tuple, set] = defaultdict(set)
    services: Counter = Counter()
    hamlets: dict[tuple, Counter] = defaultdict(Counter)
    team_days: dict[tuple, Counter] = defaultdict(Counter)
    team_households: dict[tuple, set] = defaultdict(set)
    for v in visits:
        key = (v.team.commune_id, v.visited_on)
        first = first_of[v.household_id].pk == v.pk
        days[key].update(visits=1, households_first=int(first), return_visits=int(not first))
        days[key]["residents_helped"] += v.residents_helped
        teams_out[key].add(v.team_id)
        members_out[key] |= {m.pk for m in v.members.all()}
        for service in v.services.all():
            services[(*key, service.pk)] += 1
        hamlet_key = (v.household.hamlet_id, v.household.commune_id, v.visited_on)
        hamlets[hamlet_key].update(visits=1, households_first=int(first))
        hamlets[hamlet_key]["residents_helped"] += v.residents_helped
        team_key = (v.team_id, v.team.commune_id, v.visited_on)
        team_days[team_key].update(visits=1)
        team_days[team_key]["residents_helped"] += v.residents_helped
        team_households[team_key].add(v.household_id)
    first_by_team: dict[tuple, Visit] = {}
    for v in sorted(visits, key=lambda v: (v.visited_on, v.pk)):
        first_by_team.setdefault((v.team_id, v.household_id), v)
    for v in first_by_team.values():
        team_days[(v.team_id, v.team.commune_id, v.visited_on)]["households_new"] += 1
    for key in days:
        days[key]["teams_visiting"] = len(teams_out[key])
        days[key]["members_visiting"] = len(members_out[key])
    for team in Team.objects.all():
        days[(team.commune_id, team.formed_on)]["teams_formed"] += 1
        if team.dissolved_on:
            days[(team.commune_id, team.dissolved_on)]["teams_dissolved"] += 1
    for member in Member.objects.select_related("team"):
        commune = member.team.commune_id
        days[(commune, member.joined_on)]["members_joined"] += 1
        if member.left_on:
            days[(commune, member.left_on)]["members_left"] += 1
        if member.on_zalo_oa:
            since = max(member.joined_on, member.zalo_joined_on or member.joined_on)
            if member.left_on is None or member.left_on >= since:
                days[(commune, since)]["zalo_joined"] += 1
                if member.left_on:
                    days[(commune, member.left_on)]["zalo_left"] += 1

    totals = set()
    for team in Team.objects.all():
        mine = [v for v in visits if v.team_id == team.pk]
        totals.add(
            (
                team.pk,
                len(mine),
                len({v.household_id for v in mine}),
                max((v.visited_on for v in mine), default=None),
            )
        )
    readiness = set()
    for commune_id in {h.commune_id for h in Household.objects.all()}:
        households = Household.objects.filter(commune_id=commune_id)
        for item in READINESS_FIELDS:
            yes = sum(1 for h in households if getattr(h, item) is True)
            answered = sum(1 for h in households if getattr(h, item) is not None)
            readiness.add((commune_id, item, yes, answered))

    trainings: dict[tuple, Counter] = defaultdict(Counter)
    for session in TrainingSession.objects.filter(status=TrainingSession.Status.HELD):
        district = session.district_id or (session.commune.district_id if session.commune else None)
        key = (session.level, district, session.commune_id, session.starts_on, session.audience)
        named = session.attendances.count()
        counted = getattr(session, "headcount", None)
        trainings[key]["sessions_held"] += 1
        trainings[key]["attendees"] += counted.total if counted else named
    from trainings.models import CourseEnrolment

    for e in CourseEnrolment.objects.filter(completed_on__isnull=False).select_related("commune"):
        level = (
            Level.COMMUNE if e.commune_id else Level.DISTRICT if e.district_id else Level.PROVINCE
        )
        district = e.district_id or (e.commune.district_id if e.commune else None)
        trainings[(level, district, e.commune_id, e.completed_on, e.audience)][
            "course_completions"
        ] += 1

    years = set()
    for year in {k[3].year for k in trainings}:
        province = training_figures(year)
        years.add((year, None, None, province.distinct_people, province.officials_trained))
        used = Commune.objects.filter(
            Q(code__in=CODES)
            | Q(pk__in=CourseEnrolment.objects.values("commune"))
            | Q(pk__in=TrainingSession.objects.values("commune"))
        )
        for district_id in {c.district_id for c in used}:
            f = training_figures(year, district_id=district_id)
            if f.distinct_people:
                years.add((year, district_id, None, f.distinct_people, f.officials_trained))
        for commune_id in [c.pk for c in used]:
            f = training_figures(year, commune_id=commune_id)
            if f.distinct_people:
                years.add((year, None, commune_id, f.distinct_people, f.officials_trained))

    def nonzero(counter):
        return tuple(sorted((k, v) for k, v in counter.items() if v))

    months: dict[tuple, Counter] = defaultdict(Counter)
    for (c, d), f in days.items():
        months[(c, d.replace(day=1))].update(
            {name: value for name, value in f.items() if name in MONTH_FIGURES}
        )
    month_services: Counter = Counter()
    for (c, d, service), n in services.items():
        month_services[(c, d.replace(day=1), service)] += n

    return {
        "commune_month": {
            (c, m, communes[c], nonzero(f)) for (c, m), f in months.items() if nonzero(f)
        },
        "month_services": {(c, m, s, n) for (c, m, s), n in month_services.items()},
        "commune_day": {(c, d, communes[c], nonzero(f)) for (c, d), f in days.items()},
        "services": {(c, d, s, n) for (c, d, s), n in services.items()},
        "hamlets": {(h, c, d, nonzero(f)) for (h, c, d), f in hamlets.items()},
        "team_days": {
            (
                t,
                c,
                d,
                f["visits"],
                len(team_households[(t, c, d)]),
                f["residents_helped"],
                f["households_new"],
            )
            for (t, c, d), f in team_days.items()
        },
        "team_totals": totals,
        "readiness": readiness,
        "trainings": {(*k, nonzero(f)) for k, f in trainings.items()},
        "years": years,
    }


MONTH_FIGURES = [
    "visits",
    "households_first",
    "return_visits",
    "residents_helped",
    "teams_formed",
    "teams_dissolved",
    "members_joined",
    "members_left",
    "zalo_joined",
    "zalo_left",
]
COMMUNE_DAY_FIGURES = [
    "visits",
    "households_first",
    "return_visits",
    "residents_helped",
    "teams_visiting",
    "members_visiting",
    "teams_formed",
    "teams_dissolved",
    "members_joined",
    "members_left",
    "zalo_joined",
    "zalo_left",
]


def _stored() -> dict[str, set]:
    """What the summary tables hold, in the same shape as _expected()."""

    def figures(row, names):
        return tuple(sorted((n, getattr(row, n)) for n in names if getattr(row, n)))

    return {
        "commune_month": {
            (r.commune_id, r.month, r.district_id, figures(r, MONTH_FIGURES))
            for r in CommuneMonth.objects.all()
        },
        "month_services": set(
            CommuneMonthService.objects.values_list("commune_id", "month", "service_id", "visits")
        ),
        "commune_day": {
            (r.commune_id, r.day, r.district_id, figures(r, COMMUNE_DAY_FIGURES))
            for r in CommuneDay.objects.all()
        },
        "services": set(
            CommuneDayService.objects.values_list("commune_id", "day", "service_id", "visits")
        ),
        "hamlets": {
            (
                r.hamlet_id,
                r.commune_id,
                r.day,
                figures(r, ["visits", "households_first", "residents_helped"]),
            )
            for r in HamletDay.objects.all()
        },
        "team_days": set(
            TeamDay.objects.values_list(
                "team_id",
                "commune_id",
                "day",
                "visits",
                "households",
                "residents_helped",
                "households_new",
            )
        ),
        "team_totals": set(
            TeamTotal.objects.values_list(
                "team_id", "visits", "households_reached", "last_visited_on"
            )
        ),
        "readiness": set(
            CommuneReadiness.objects.values_list(
                "commune_id", "item", "households_yes", "households_answered"
            )
        ),
        "trainings": {
            (
                r.level,
                r.district_id,
                r.commune_id,
                r.day,
                r.audience,
                figures(r, ["sessions_held", "attendees", "course_completions"]),
            )
            for r in TrainingDay.objects.all()
        },
        "years": set(
            TrainingYear.objects.values_list(
                "year", "district_id", "commune_id", "people_trained", "officials_trained"
            )
        ),
    }


def _assert_exact() -> None:
    expected, stored = _expected(), _stored()
    for table in expected:
        missing = expected[table] - stored[table]
        extra = stored[table] - expected[table]
        assert not missing and not extra, f"{table}: missing {missing}, extra {extra}"


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
        rollup.rollup_pending()
        assert not PendingRollup.objects.exists()
        _assert_exact()
    # Nothing left to do: a second run changes nothing.
    before = _stored()
    rollup.rollup_pending()
    assert _stored() == before


def test_a_full_roll_up_twice_gives_the_same_figures_as_the_pending_ones(divisions):
    campaign = Campaign(random.Random(7))
    for _ in range(60):
        campaign.step()
    rollup.rollup_pending()
    pending = _stored()
    rollup.rollup_full()
    first = _stored()
    rollup.rollup_full()
    assert _stored() == first == pending
    _assert_exact()
    assert RollupState.objects.get().last_full_at is not None


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
    _assert_exact()


def test_a_failed_run_leaves_the_figures_and_the_marks_as_they_were(divisions, monkeypatch):
    campaign = Campaign(random.Random(4))
    rollup.rollup_pending()
    before = _stored()
    for _ in range(5):
        campaign.visit_new()
    marks = PendingRollup.objects.count()

    def killed(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(rollup, "_training_cells", killed)
    with pytest.raises(RuntimeError):
        rollup.rollup_pending()
    assert _stored() == before
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
    _assert_exact()
    call_command("rollup", "--full", stdout=out)
    assert RollupState.objects.get().last_full_at is not None
    assert len(out.getvalue().splitlines()) == 2  # one summary line per run
    _assert_exact()


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
    _assert_exact()


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
    _assert_exact()


def test_the_marks_of_one_bucket_beyond_a_batch_are_recomputed_once(divisions, monkeypatch):
    """A burst marks one bucket thousands of times: the run claims every mark of the
    buckets in its batch, so the bucket is recomputed once, and the other buckets after."""
    campaign = Campaign(random.Random(11))
    for _ in range(3):
        campaign.visit_new()
    rollup.rollup_pending()
    visit = Visit.objects.select_related("team").first()
    bucket = {"commune_id": visit.team.commune_id, "source": RollupSource.OUTREACH}
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
    _assert_exact()


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
    _assert_exact()
