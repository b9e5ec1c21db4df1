"""generate_load: a tiny province-scale load is valid, the same for the same seed, and
every visit it generates reaches the dashboard's figures."""

import datetime as dt
import io
from collections import Counter, defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum

from bench import generator
from bench.load_command import Command
from communes.models import Commune, Hamlet
from dashboard.models import CommuneDay
from dashboard.rollup import rollup_full
from outreach.models import (
    READINESS_FIELDS,
    Household,
    Member,
    MemberDay,
    ReadinessDay,
    ReadinessLevel,
    Team,
    Visit,
    normalize_address,
)
from outreach.services.facts import facts_check
from outreach.services.visits import visit_outcome_errors
from trainings.models import Attendance, CourseEnrolment, Headcount, TrainingSession

# The benchmark's tool, loading thousands of rows per test: make test runs it, make check
# (the unit and page tests) does not.
pytestmark = pytest.mark.slow

END = dt.date(2026, 6, 30)
TINY = {"visits": 2_000, "households": 3_000, "teams": 50, "members": 300}


def _load(*extra: str, seed: int = 7, **sizes) -> str:
    options = {**TINY, **sizes}
    args = [f"--{name}={value}" for name, value in options.items()]
    out = io.StringIO()
    call_command(
        Command(),
        *args,
        f"--seed={seed}",
        f"--end-date={END}",
        *extra,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def _visit_days() -> Counter:
    return Counter(Visit.objects.values_list("household_id", "visited_on"))


@pytest.mark.django_db
def test_tiny_load_writes_the_asked_rows_all_marked_as_demo(divisions):
    output = _load()

    assert Team.objects.count() == 50
    assert Member.objects.count() == 300
    assert Household.objects.count() == 3_000
    assert Visit.objects.count() == 2_000
    # Trainings scale with the visits: N // 5 attendances, N // 25 course records.
    assert Attendance.objects.count() == 400
    assert CourseEnrolment.objects.count() == 80
    for model in (Team, Member, Household, Visit, TrainingSession, Attendance, CourseEnrolment):
        assert not model.objects.filter(is_demo=False).exists(), model
    hamlets = Counter(Hamlet.objects.values_list("commune_id", flat=True))
    assert len(hamlets) == Commune.objects.count() == 226
    assert set(hamlets.values()) <= set(range(4, 9))
    assert not Commune.objects.filter(households__isnull=True).exists()
    assert "rows/s" in output and "peak RSS" in output


@pytest.mark.django_db
def test_visits_are_valid_as_the_visit_form_would_accept_them(divisions):
    _load()

    start = END - dt.timedelta(days=generator.DAYS - 1)
    visits = Visit.objects.select_related("team", "household")
    for visit in visits:
        assert visit.team.commune_id == visit.household.commune_id
        assert start <= visit.visited_on <= END
        assert visit.visited_on >= visit.team.formed_on
    links = Visit.members.through.objects.select_related("visit", "member")
    for link in links:
        assert link.member.team_id == link.visit.team_id
        assert link.member.is_active
        assert link.member.joined_on <= link.visit.visited_on
    per_visit = Visit.objects.annotate(m=Count("members", distinct=True)).aggregate(
        low=Count("pk", filter=Q(m__lt=1)), high=Count("pk", filter=Q(m__gt=3))
    )
    assert per_visit == {"low": 0, "high": 0}
    assert not Visit.objects.annotate(s=Count("services")).filter(s__gt=3).exists()
    # What each says agrees with its outcome, as the visit services require.
    for visit in Visit.objects.prefetch_related("services"):
        readiness = {item: getattr(visit, item) for item in READINESS_FIELDS}
        assert not visit_outcome_errors(
            outcome=visit.outcome,
            residents_helped=visit.residents_helped,
            services=list(visit.services.all()),
            readiness=readiness,
        ), visit.pk
    # Households come back: more visits than households visited.
    assert Visit.objects.values("household").distinct().count() < 2_000


@pytest.mark.django_db
def test_every_team_has_one_active_leader(divisions):
    _load()

    leaders = Team.objects.annotate(
        n=Count("members", filter=Q(members__role="leader", members__is_active=True))
    )
    assert set(leaders.values_list("n", flat=True)) == {1}
    assert (
        Member.objects.filter(is_active=True)
        .exclude(phone="")
        .values("phone")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
        == 0
    )


@pytest.mark.django_db
def test_households_carry_the_latest_answer_of_their_visits(divisions):
    _load()

    latest: dict[int, dict] = defaultdict(lambda: dict.fromkeys(READINESS_FIELDS))
    for row in Visit.objects.order_by("visited_on", "pk").values("household_id", *READINESS_FIELDS):
        for item in READINESS_FIELDS:
            if row[item] is not None:
                latest[row["household_id"]][item] = row[item]
    for household in Household.objects.all():
        assert household.address_folded == normalize_address(household.address_label)
        expected = latest[household.pk]
        assert {item: getattr(household, item) for item in READINESS_FIELDS} == expected
    assert Household.objects.filter(has_smartphone__isnull=False).exists()


@pytest.mark.django_db
def test_the_load_records_the_facts_the_visit_services_would(divisions):
    _load()
    assert MemberDay.objects.exists() and ReadinessDay.objects.exists()
    assert Visit.objects.filter(first_for_household=False).exists()
    assert facts_check(repair=False) == {
        "visit_places": 0,
        "visit_ranks": 0,
        "member_days": 0,
        "readiness_days": 0,
        "readiness_levels": 0,
    }
    assert ReadinessLevel.objects.filter(answered__gt=0).exists()


@pytest.mark.django_db
def test_every_reference_points_at_a_row(divisions):
    """The load skips the per-row foreign-key triggers; nothing may dangle."""
    _load()

    models = [
        Team,
        Member,
        Household,
        Visit,
        Visit.members.through,
        Visit.services.through,
        TrainingSession,
        TrainingSession.topics.through,
        Attendance,
        Headcount,
        CourseEnrolment,
    ]
    checked = 0
    for model in models:
        for field in model._meta.concrete_fields:
            if not field.many_to_one and not field.one_to_one:
                continue
            parent = field.related_model
            dangling = model.objects.filter(**{f"{field.name}__isnull": False}).exclude(
                **{f"{field.name}__in": parent.objects.values("pk")}
            )
            assert not dangling.exists(), f"{model._meta.db_table}.{field.column}"
            checked += 1
    assert checked >= 20
    named = Attendance.objects.values("session").annotate(n=Count("pk"))
    headcounts = dict(Headcount.objects.values_list("session_id", "total"))
    assert all(headcounts.get(row["session"], row["n"]) >= row["n"] for row in named)


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_visits_and_another_seed_others(divisions):
    _load(seed=11)
    first = _visit_days()

    _load("--force", seed=11)
    assert _visit_days() == first

    _load("--force", seed=12)
    assert _visit_days() != first


@pytest.mark.django_db
def test_roll_up_of_the_load_counts_every_visit(divisions):
    _load()

    rollup_full()

    assert CommuneDay.objects.aggregate(n=Sum("visits"))["n"] == 2_000


@pytest.mark.django_db
def test_a_load_refuses_to_add_to_existing_data_without_force(divisions):
    _load()

    with pytest.raises(CommandError, match="--force"):
        _load()
    assert Visit.objects.count() == 2_000


@pytest.mark.django_db
def test_a_load_refuses_sqlite(divisions, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with pytest.raises(CommandError, match="PostgreSQL"):
        _load()


def test_a_size_overrides_the_number_of_visits(monkeypatch):
    specs = []

    def fake_generate(*, spec, force, keep_indexes, progress):
        specs.append(spec)
        raise generator.LoadRefused("stop here")

    monkeypatch.setattr(generator, "load_generate", fake_generate)
    with pytest.raises(CommandError, match="stop here"):
        call_command(Command(), "--size=M", "--visits=10", "--end-date=2026-06-30")
    assert specs[0].visits == 5_000_000
    assert (specs[0].households, specs[0].teams, specs[0].members) == (600_000, 2_160, 16_000)
    assert specs[0].attendances == 1_000_000 and specs[0].enrolments == 20_000


@pytest.mark.django_db
def test_without_superuser_rights_the_database_checks_every_reference(divisions, monkeypatch):
    monkeypatch.setattr(generator, "_may_skip_triggers", lambda: False)

    output = _load()

    assert Visit.objects.count() == 2_000
    assert "triggers were skipped" not in output


def _index_definitions() -> dict[str, str]:
    tables = [model._meta.db_table for model in generator.INDEXED_LATER]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables]
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_the_indexes_dropped_for_the_load_are_all_back_and_enforced(divisions):
    before = _index_definitions()
    assert len(before) >= 10

    _load()

    assert _index_definitions() == before
    # The unique constraint on submission ids came back as a constraint, not only an index.
    visit = Visit.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=Visit.objects.exclude(pk=visit.pk).first().pk).update(
            submission_id=visit.submission_id
        )
