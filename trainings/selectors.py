"""Reads of trainings: what a user may see, and the yearly figures the dashboard rolls up."""

from dataclasses import dataclass, field
from datetime import date

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import AuditEntry, ScopeLevel, User
from accounts.scopes import Scope, scope_for
from accounts.selectors import HistoryEntry, audit_entries_of, history_of
from communes.models import Commune, VietnameseOrder
from communes.names import PlaceNames
from core.phone import InvalidPhone, looks_like_phone, normalize_phone
from outreach.models import Member, Team

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


# --- Who reads whose name on a session's list ------------------------------------------
#
# Someone at or above the level that organises a session (provincial staff and any
# session, district staff and their district's sessions and its communes') reads its
# whole list. Below it, a commune official or a district officer at a provincial session
# reads by name only the attendees from their own commune or district, and the others as
# counts by district: the province's list names officials of all ten districts.

_SCOPE_RANK = {
    ScopeLevel.TEAM: 0,
    ScopeLevel.COMMUNE: 1,
    ScopeLevel.DISTRICT: 2,
    ScopeLevel.PROVINCE: 3,
}
_SESSION_RANK = {Level.COMMUNE: 1, Level.DISTRICT: 2, Level.PROVINCE: 3}


@dataclass(frozen=True)
class AttendanceList:
    """What a user reads of a session's named list.

    `named` holds the people the user may read by name (with their member and team).
    When it is not the whole list (`whole` false), `unit` names whose attendees it
    holds and the others are only counted: `others` in all, and `others_by_district`
    as (district name, count) in the districts' official order, None for attendees whose
    agency names no place (a provincial department, a firm).
    """

    named: QuerySet[Attendance]
    whole: bool = True
    unit: str = ""
    others: int = 0
    others_by_district: list[tuple[str | None, int]] = field(default_factory=list)


def reads_whole_list(scope: Scope, session: TrainingSession) -> bool:
    """Whether the scope is at or above the level that organises the session (which the
    caller has already found inside the scope)."""
    if scope.sees_everything:
        return True
    if scope.sees_nothing:
        return False
    return _SCOPE_RANK.get(scope.level, -1) >= _SESSION_RANK[session.level]


def attendance_visible(user: User, session: TrainingSession) -> AttendanceList:
    """The part of a session's named list the user reads by name, and a count of the rest.

    The session must already be one the user sees (`sessions_visible`). An attendee
    belongs to a unit through their team when they are a team member, else through the
    commune or district their agency's text names ("UBND xã Hải Đông"); one whose agency
    names no place belongs to no commune or district.
    """
    attendances = (
        Attendance.objects.filter(session=session)
        .select_related("member__team")
        .order_by(VietnameseOrder("full_name"), "pk")
    )
    scope = scope_for(user)
    if reads_whole_list(scope, session):
        return AttendanceList(attendances)
    if scope.sees_nothing:
        return AttendanceList(attendances.none(), whole=False)
    groups = (
        Attendance.objects.filter(session=session)
        .order_by()
        .values_list(
            "member__team_id",
            "member__team__commune_id",
            "member__team__commune__district_id",
            "agency",
        )
        .annotate(n=Count("pk"))
    )
    names = PlaceNames.load()
    own_agencies: set[str] = set()
    others_by_district: dict[int | None, int] = {}
    for team_id, commune_id, district_id, agency, count in groups:
        if team_id is None:
            commune_id, district_id = names.place_of(agency)
        if scope.level == ScopeLevel.TEAM:
            own = team_id in scope.team_ids
        elif scope.level == ScopeLevel.COMMUNE:
            own = commune_id in scope.commune_ids
        else:
            own = district_id in scope.district_ids
        if own and team_id is None:
            own_agencies.add(agency)
        elif not own:
            others_by_district[district_id] = others_by_district.get(district_id, 0) + count
    named = attendances.filter(
        scope.q(team="member__team") | Q(member__isnull=True, agency__in=own_agencies)
    )
    return AttendanceList(
        named,
        whole=False,
        unit=_unit_name(scope, names),
        others=sum(others_by_district.values()),
        others_by_district=[
            (names.districts[pk].name if pk is not None else None, count)
            for pk, count in sorted(
                others_by_district.items(),
                key=lambda item: (item[0] is None, item[0] and names.districts[item[0]].code),
            )
        ],
    )


def _unit_name(scope: Scope, names: PlaceNames) -> str:
    if scope.level == ScopeLevel.COMMUNE:
        return ", ".join(sorted(names.communes[pk].name for pk in scope.commune_ids))
    if scope.level == ScopeLevel.DISTRICT:
        return ", ".join(sorted(names.districts[pk].name for pk in scope.district_ids))
    teams = Team.objects.filter(pk__in=scope.team_ids).order_by(VietnameseOrder("name"))
    return ", ".join(teams.values_list("name", flat=True))


def members_to_pick(user: User, session: TrainingSession) -> QuerySet[Member] | None:
    """The active members of a commune session's teams, within the user's scope, who are
    not on its list yet (the attendance form's choices; Attendance.member is a key to
    Member). None for a session above the commune: its attendees are typed."""
    if session.level != Level.COMMUNE:
        return None
    listed = Attendance.objects.filter(session=session, member__isnull=False)
    members = scope_for(user).filter(
        Member.objects.select_related("team"), commune="team__commune", team="team"
    )
    return (
        members.filter(team__commune_id=session.commune_id, is_active=True)
        .exclude(pk__in=listed.values("member_id"))
        .order_by(VietnameseOrder("team__name"), VietnameseOrder("full_name"), "pk")
    )


def members_on(day: date, *, district_id: int) -> QuerySet[Member]:
    """The members of the district's teams on the day: joined by then and not yet left
    (so of teams formed by then and not yet dissolved), in the order they were added."""
    return (
        Member.objects.select_related("team")
        .filter(team__commune__district_id=district_id, joined_on__lte=day)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
        .order_by("pk")
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


def enrolments_matching(
    queryset: QuerySet[CourseEnrolment], text: str
) -> QuerySet[CourseEnrolment]:
    """Records whose name, agency, e-mail or course contains `text`, or whose phone
    matches it (a whole number as stored, a part of one as digits)."""
    query = (
        Q(full_name__icontains=text)
        | Q(agency__icontains=text)
        | Q(email__icontains=text)
        | Q(course__icontains=text)
    )
    if looks_like_phone(text):
        try:
            query |= Q(phone=normalize_phone(text))
        except InvalidPhone:
            query |= Q(phone__contains="".join(ch for ch in text if ch.isdigit()))
    return queryset.filter(query)


HISTORY_LIMIT = 200


def session_history(session: TrainingSession, user: User) -> list[HistoryEntry]:
    """The session's own changes, its headcount's, and every change to its list of
    attendees, removed ones included.

    Below the session's level (`attendance_visible`), a change to an attendee the user
    may not read by name says who made it and when, not whom it was about; someone since
    removed from the list is no longer anyone's own attendee.
    """
    attendance_type = ContentType.objects.get_for_model(Attendance)
    headcount_ids = Headcount.objects.filter(session=session).values_list("pk", flat=True)
    entries = list(
        (
            audit_entries_of([(TrainingSession, [session.pk]), (Headcount, headcount_ids)])
            | AuditEntry.objects.filter(
                content_type=attendance_type, changes___session=session.pk
            ).select_related("actor", "content_type")
        ).order_by("-at", "-id")[:HISTORY_LIMIT]
    )
    shown = history_of(entries)
    readable = attendance_visible(user, session)
    if not readable.whole:
        own = set(readable.named.values_list("pk", flat=True))
        for entry, row in zip(entries, shown, strict=True):
            if entry.content_type_id == attendance_type.pk and entry.object_id not in own:
                row.record = _("An attendee from elsewhere")
                row.changes = []
    return shown
