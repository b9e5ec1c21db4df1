"""Reads of trainings: what a user may see, and the yearly figures the dashboard rolls up."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import ScopeLevel, User
from accounts.scopes import scope_for
from communes.models import Commune

from .models import (
    OFFICIAL_AUDIENCES,
    Attendance,
    CourseEnrolment,
    Headcount,
    Level,
    TrainingSession,
)


def sessions_visible(user: User) -> QuerySet[TrainingSession]:
    """Provincial sessions, and those of the districts and communes in the user's scope."""
    scope = scope_for(user)
    queryset = TrainingSession.objects.select_related("district", "commune__district")
    if scope.sees_nothing:
        return queryset.none()
    return queryset.filter(
        Q(level=Level.PROVINCE)
        | (Q(level=Level.DISTRICT) & scope.q(district="district"))
        | (Q(level=Level.COMMUNE) & scope.q(commune="commune"))
    )


def with_attendees(queryset: QuerySet[TrainingSession]) -> QuerySet[TrainingSession]:
    """Each session's named count and its attendees: the headcount where one was taken
    (it covers the named people too), else the named list."""
    named = (
        Attendance.objects.filter(session=OuterRef("pk"))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    counted = Headcount.objects.filter(session=OuterRef("pk")).values("total")
    return queryset.annotate(
        named_count=Coalesce(Subquery(named, output_field=IntegerField()), Value(0)),
        attendee_count=Coalesce(
            Subquery(counted, output_field=IntegerField()),
            Subquery(named, output_field=IntegerField()),
            Value(0),
        ),
    )


def sessions_held(start: date, end: date) -> QuerySet[TrainingSession]:
    """Sessions held that started in the period; a cancelled or planned one counts for nothing."""
    return TrainingSession.objects.filter(
        status=TrainingSession.Status.HELD, starts_on__gte=start, starts_on__lte=end
    )


@dataclass(frozen=True)
class TrainingFigures:
    sessions_held: int
    attendees: int
    attendees_by_audience: dict[str, int]
    distinct_people: int
    course_completions: int
    officials_trained: int


def training_figures(
    year: int, *, district_id: int | None = None, commune_id: int | None = None
) -> TrainingFigures:
    """Training figures for a calendar year: the province's, or a district's (its own
    sessions and its communes'), or a commune's. Course completions count where the
    learner's agency is.

    Officials trained: distinct officials, civil servants and public employees who
    completed a course or attended a session held for those audiences that year; one
    person at three sessions and a course counts once.
    """
    start, end = date(year, 1, 1), date(year, 12, 31)
    sessions = sessions_held(start, end)
    completed = CourseEnrolment.objects.filter(completed_on__gte=start, completed_on__lte=end)
    if commune_id is not None:
        sessions = sessions.filter(commune_id=commune_id)
        completed = completed.filter(commune_id=commune_id)
    elif district_id is not None:
        in_district = Q(district_id=district_id) | Q(commune__district_id=district_id)
        sessions = sessions.filter(in_district)
        completed = completed.filter(in_district)
    held = with_attendees(sessions)
    by_audience: dict[str, int] = {}
    for audience, attendees in held.values_list("audience", "attendee_count"):
        by_audience[audience] = by_audience.get(audience, 0) + attendees
    named = Attendance.objects.filter(session__in=sessions.values("pk"))
    people = set(named.values_list("person_key", flat=True))
    people |= set(completed.values_list("person_key", flat=True))
    officials = set(
        named.filter(session__audience__in=OFFICIAL_AUDIENCES).values_list("person_key", flat=True)
    )
    officials |= set(
        completed.filter(audience__in=OFFICIAL_AUDIENCES).values_list("person_key", flat=True)
    )
    return TrainingFigures(
        sessions_held=held.count(),
        attendees=sum(by_audience.values()),
        attendees_by_audience=by_audience,
        distinct_people=len(people),
        course_completions=completed.count(),
        officials_trained=len(officials),
    )


@dataclass(frozen=True)
class PriorityCommune:
    commune: "Commune"
    held_resident_training: bool
    residents_attended: int


def communes_priority(year: int) -> list[PriorityCommune]:
    """Communes building advanced or model new-rural status, each with whether it held a
    resident training in the year and how many residents attended."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    communes = list(
        Commune.objects.filter(
            new_rural_status__in=[Commune.NewRuralStatus.ADVANCED, Commune.NewRuralStatus.MODEL]
        ).select_related("district")
    )
    trainings = with_attendees(
        sessions_held(start, end).filter(
            format=TrainingSession.Format.COMMUNITY_TRAINING, commune__in=communes
        )
    )
    residents: dict[int, int] = {}
    for commune_id, attendees in trainings.values_list("commune_id", "attendee_count"):
        residents[commune_id] = residents.get(commune_id, 0) + attendees
    return [PriorityCommune(c, c.pk in residents, residents.get(c.pk, 0)) for c in communes]


def enrolments_visible(user: User) -> QuerySet[CourseEnrolment]:
    """The course records counted in the user's area.

    A record counts where the learner's agency is: a commune, a district, or (neither)
    the province. Province-wide users see all; district staff their district's records
    and its communes'; commune officials their commune's. Province-level records (a
    provincial department's staff) are for province-wide users only.
    """
    scope = scope_for(user)
    enrolments = CourseEnrolment.objects.select_related("commune", "district")
    if scope.sees_everything or scope.level == ScopeLevel.PROVINCE:
        return enrolments
    if scope.sees_nothing:
        return enrolments.none()
    in_scope = scope.q(commune="commune")
    if scope.level == ScopeLevel.DISTRICT:
        in_scope |= scope.q(district="district")
    return enrolments.filter(in_scope)
