"""seed_demo's trainings: a plausible year, deterministic, added once."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Count

from communes.demo import seed_demo as communes_seed_demo
from communes.models import Commune
from dashboard.models import PendingRollup
from trainings.demo import seed_demo
from trainings.models import (
    Attendance,
    Audience,
    CourseEnrolment,
    Headcount,
    Level,
    Topic,
    TrainingSession,
)
from trainings.selectors import training_figures

Format = TrainingSession.Format


@pytest.fixture
def communes_with_figures(divisions):
    """The communes with their demo figures, new-rural status included."""
    communes_seed_demo(seed=2023, scale=1.0)


def _snapshot():
    sessions = list(
        TrainingSession.objects.order_by("starts_on", "title", "commune__code", "district__code")
        .values_list("title", "format", "level", "commune__code", "district__code", "starts_on")
        .annotate(n=Count("attendances"))
    )
    people = sorted(
        Attendance.objects.values_list("session__title", "full_name", "position", "phone")
    )
    headcounts = sorted(Headcount.objects.values_list("session__title", "total", "women"))
    enrolments = sorted(
        CourseEnrolment.objects.values_list(
            "course", "full_name", "agency", "phone", "email", "completed_on", "score"
        )
    )
    return sessions, people, headcounts, enrolments


@pytest.mark.slow  # a year of the whole province's trainings: several seconds
@pytest.mark.django_db
def test_a_full_year_of_trainings_at_full_scale(communes_with_figures):
    lines = seed_demo(seed=2023)

    sessions = TrainingSession.objects.all()
    assert not sessions.filter(is_demo=False).exists()
    formats = Counter(sessions.values_list("format", flat=True))
    # The ten thematic conferences for key officials, at province level, on thematic topics.
    thematic = sessions.filter(format=Format.THEMATIC_CONFERENCE)
    assert thematic.count() == 10
    assert set(thematic.values_list("level", "audience").distinct()) == {
        (Level.PROVINCE, Audience.KEY_OFFICIALS)
    }
    assert set(thematic.values_list("topics__kind", flat=True)) == {Topic.Kind.THEMATIC}
    # A conference for each sector topic.
    sector_topics = set(Topic.objects.filter(kind=Topic.Kind.SECTOR).values_list("pk", flat=True))
    held_for = set(
        sessions.filter(format=Format.SECTOR_CONFERENCE).values_list("topics", flat=True)
    )
    assert sector_topics <= held_for
    # Coaching of named officials in every one of the 226 communes.
    coaching = sessions.filter(format=Format.COACHING)
    assert coaching.values("commune").distinct().count() == 226
    assert set(coaching.values_list("level", "audience").distinct()) == {
        (Level.COMMUNE, Audience.COMMUNE_OFFICIALS)
    }
    sizes = coaching.annotate(n=Count("attendances")).values_list("n", flat=True)
    assert min(sizes) >= 5 and max(sizes) <= 12
    assert not Attendance.objects.filter(session__format=Format.COACHING, position="").exists()
    # Resident trainings in many communes, more where new-rural status is advanced or model.
    community = sessions.filter(format=Format.COMMUNITY_TRAINING, level=Level.COMMUNE)
    assert community.values("commune").distinct().count() > 120
    statuses = [Commune.NewRuralStatus.ADVANCED, Commune.NewRuralStatus.MODEL]
    priority_communes = Commune.objects.filter(new_rural_status__in=statuses)
    assert priority_communes.exists()
    assert (
        community.filter(commune__new_rural_status__in=statuses).count() / priority_communes.count()
        >= 2
    )
    assert sessions.filter(level=Level.DISTRICT).count() >= 10
    assert formats[Format.COMMUNITY_TRAINING] > 200
    # Headcounts for mass sessions, never below their named list.
    assert Headcount.objects.filter(session__format=Format.COMMUNITY_TRAINING).count() > 200
    for headcount in Headcount.objects.annotate(n=Count("session__attendances")):
        assert headcount.n <= headcount.total
    named = Attendance.objects.count()
    assert 1_000 <= named <= 3_000
    # About 20,000 course records, 85% completed, counted at all three levels.
    enrolments = CourseEnrolment.objects.all()
    assert enrolments.count() == pytest.approx(20_000, rel=0.05)
    completed = enrolments.filter(completed_on__isnull=False)
    assert completed.count() / enrolments.count() == pytest.approx(0.85, abs=0.02)
    assert completed.filter(commune__isnull=False).count() > 5_000
    assert completed.filter(district__isnull=False).count() > 2_000
    assert completed.filter(commune__isnull=True, district__isnull=True).count() > 2_000
    assert not enrolments.filter(is_demo=False).exists()
    # Every place-day touched waits for the roll-up.
    assert set(
        PendingRollup.objects.filter(commune__isnull=False).values_list("commune_id", "day")
    ) >= set(coaching.values_list("commune_id", "starts_on"))
    assert PendingRollup.objects.filter(district__isnull=False).exists()
    assert PendingRollup.objects.filter(commune=None, district=None).exists()
    # Officials coached on site and on a course count once.
    figures = training_figures(2026)
    assert figures.sessions_held > 400
    attended = set(Attendance.objects.values_list("person_key", flat=True))
    completed_keys = set(completed.values_list("person_key", flat=True))
    assert attended & completed_keys
    assert figures.officials_trained == len(attended | completed_keys) > 15_000
    assert len(lines) == 2


@pytest.mark.django_db
def test_a_small_scale_covers_that_share_of_the_communes(communes_with_figures):
    seed_demo(seed=2023, scale=0.05)

    coaching = TrainingSession.objects.filter(format=Format.COACHING)
    assert coaching.values("commune").distinct().count() == round(226 * 0.05)
    assert TrainingSession.objects.filter(format=Format.THEMATIC_CONFERENCE).count() == 10
    assert 600 <= CourseEnrolment.objects.count() <= 1_600
    assert Attendance.objects.count() > 100


@pytest.mark.django_db
def test_a_second_run_changes_nothing(communes_with_figures):
    seed_demo(seed=7, scale=0.05)
    first = _snapshot()
    buckets = PendingRollup.objects.count()

    lines = seed_demo(seed=7, scale=0.05)

    assert _snapshot() == first
    assert PendingRollup.objects.count() == buckets
    assert lines == ["Demo trainings and course records already present; nothing added."]


@pytest.mark.django_db
def test_a_seed_always_gives_the_same_data_and_another_seed_other_data(communes_with_figures):
    seed_demo(seed=7, scale=0.05)
    first = _snapshot()
    TrainingSession.objects.all().delete()
    CourseEnrolment.objects.all().delete()

    seed_demo(seed=7, scale=0.05)
    assert _snapshot() == first

    TrainingSession.objects.all().delete()
    CourseEnrolment.objects.all().delete()
    seed_demo(seed=8, scale=0.05)
    assert _snapshot() != first


@pytest.mark.django_db
def test_the_seed_demo_command_runs_the_trainings_demo(divisions):
    call_command("seed_demo", scale=0.02)

    assert TrainingSession.objects.filter(is_demo=True, format=Format.COACHING).exists()
    assert CourseEnrolment.objects.filter(is_demo=True).exists()


@pytest.mark.django_db
def test_officials_trained_are_some_of_the_people_trained(divisions):
    call_command("seed_demo", scale=0.05)

    # The district trainings of the community tech teams name some of their members, as
    # the attendance list names a member: people trained who are no officials.
    named = Attendance.objects.exclude(member=None).select_related("member__team", "session")
    assert named.exists()
    assert {a.session.audience for a in named} == {Audience.TEAM_MEMBERS}
    for attendance in named:
        member = attendance.member
        assert (attendance.full_name, attendance.phone) == (member.full_name, member.phone)
        assert attendance.agency == member.team.name
    figures = training_figures(2026)
    members = {a.member_id for a in named if a.session.status == TrainingSession.Status.HELD}
    assert figures.distinct_people - figures.officials_trained == len(members) > 0
