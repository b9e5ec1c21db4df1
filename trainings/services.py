"""Every write to trainings: sessions, named attendance, headcounts, course enrolments.

Each function owns its transaction, validates, checks that the user keeps sessions at
this level and place, and marks the roll-up bucket of the session's place and start day
(a commune, a district, or the province) in the same transaction.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import Place, ensure_can, register_rule
from accounts.models import AuditEntry, User
from accounts.services import audit_entry, audit_scrub, audit_snapshot
from communes.models import Commune, District
from communes.names import PlaceNames
from core.marks import ChangeSource, mark_changed
from core.names import NameIndex, either
from core.phone import clean_phone
from core.text import name_key
from outreach.models import Member

from .models import Attendance, CourseEnrolment, Headcount, Level, Topic, TrainingSession

SESSION_FIELDS = (
    "title",
    "format",
    "audience",
    "organiser",
    "organiser_name",
    "starts_on",
    "ends_on",
    "capacity",
    "status",
)
# What the audit trail records of a session, of a person on its list, of a headcount.
SESSION_AUDITED = (*SESSION_FIELDS, "level", "district", "commune")
ATTENDANCE_AUDITED = ("session", "member", "full_name", "agency", "position", "phone")
HEADCOUNT_AUDITED = ("session", "total", "women", "working_age", "priority_groups")
Action = AuditEntry.Action


def _audit(by: User, action: str, obj, fields, *, before=None, commune_id=None) -> None:
    after = audit_snapshot(obj, fields) if action != Action.DELETED else None
    if isinstance(obj, Attendance):
        # Hidden on the page: lets the session's history find a list entry since removed.
        for values in (before, after):
            if values is not None:
                values["_session"] = obj.session_id
    audit_entry(by=by, action=action, obj=obj, commune_id=commune_id, before=before, after=after)


def person_key(
    *,
    phone: str = "",
    email: str = "",
    member_id: int | None = None,
    full_name: str = "",
    agency: str = "",
) -> str:
    """Who a person is across sessions and courses, from the best thing known about them."""
    if phone:
        return f"p:{phone}"
    if email:
        return f"e:{email.strip().lower()}"
    if member_id:
        return f"m:{member_id}"
    # Tone marks tell people apart ("Nguyễn Văn Hùng" is not "Nguyễn Văn Hưng"); case and
    # spacing do not. Each part is held to its column's length, whatever lower() made of it.
    return f"n:{name_key(full_name)[:150]}|{name_key(agency)[:200]}"


def access_rules_register() -> None:
    """Commune officials keep their commune's sessions, district staff their district's,
    provincial staff the province's; admins keep all (accounts.access.ensure_can reads
    this when a service checks the user). Called when the app starts."""
    register_rule(
        TrainingSession,
        lambda session: Place(
            level=session.level, district_id=session.district_id, commune_id=session.commune_id
        ),
        outside=gettext_lazy("You keep the sessions of your own level and area only."),
    )


def _bucket(session: TrainingSession) -> dict:
    """The roll-up bucket a session counts in: its place, on its start day."""
    if session.level == Level.COMMUNE:
        return {"commune_days": [(session.commune_id, session.starts_on)]}
    if session.level == Level.DISTRICT:
        return {"district_days": [(session.district_id, session.starts_on)]}
    return {"province_days": [session.starts_on]}


def _mark(*sessions: TrainingSession) -> None:
    marks: dict[str, list] = {"commune_days": [], "district_days": [], "province_days": []}
    for session in sessions:
        for key, values in _bucket(session).items():
            marks[key] += values
    mark_changed(source=ChangeSource.TRAININGS, **marks)


def _place_for_level(level: str, district: District | None, commune: Commune | None):
    """Only the place the level needs is kept, whatever else the form sent."""
    return (
        district if level == Level.DISTRICT else None,
        commune if level == Level.COMMUNE else None,
    )


@transaction.atomic
def session_create(
    *,
    by: User,
    title: str,
    format: str,
    audience: str,
    level: str,
    starts_on: date,
    ends_on: date,
    topics: list[Topic] = (),
    district: District | None = None,
    commune: Commune | None = None,
    organiser: str = TrainingSession.Organiser.DEPARTMENT,
    organiser_name: str = "",
    capacity: int | None = None,
    status: str = TrainingSession.Status.PLANNED,
    is_demo: bool = False,
) -> TrainingSession:
    district, commune = _place_for_level(level, district, commune)
    session = TrainingSession(
        title=" ".join(title.split()),
        format=format,
        audience=audience,
        level=level,
        district=district,
        commune=commune,
        organiser=organiser,
        organiser_name=organiser_name.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        capacity=capacity,
        status=status,
        created_by=by if by.pk else None,
        is_demo=is_demo,
    )
    ensure_can(by, "trainings.add_trainingsession", session)
    session.full_clean()
    session.save()
    session.topics.set(topics)
    _audit(by, Action.CREATED, session, SESSION_AUDITED, commune_id=session.commune_id)
    _mark(session)
    return session


@transaction.atomic
def session_update(
    *, by: User, session: TrainingSession, topics: list[Topic] | None = None, **changes
) -> TrainingSession:
    """Change a session's details, dates or status (held, cancelled); the place stays."""
    session = TrainingSession.objects.select_for_update().get(pk=session.pk)
    ensure_can(by, "trainings.change_trainingsession", session)
    unknown = set(changes) - set(SESSION_FIELDS)
    if unknown:
        raise TypeError(f"session_update does not change {sorted(unknown)}")
    before = TrainingSession(
        level=session.level,
        district_id=session.district_id,
        commune_id=session.commune_id,
        starts_on=session.starts_on,
    )
    audited = audit_snapshot(session, SESSION_AUDITED)
    for field, value in changes.items():
        setattr(session, field, value)
    held = session.status == TrainingSession.Status.HELD
    if not held and session.attendances.exists():
        raise ValidationError(
            {"status": _("This session has attendees: it was held. Remove them first.")}
        )
    session.full_clean()
    session.save(update_fields=[*changes, "updated_at"])
    if topics is not None:
        session.topics.set(topics)
    _audit(
        by,
        Action.CHANGED,
        session,
        SESSION_AUDITED,
        before=audited,
        commune_id=session.commune_id,
    )
    _mark(before, session)
    return session


def _held_session(session_id: int) -> TrainingSession:
    session = TrainingSession.objects.select_for_update().get(pk=session_id)
    if session.status != TrainingSession.Status.HELD:
        raise ValidationError(_("Attendance is recorded for sessions that were held."))
    return session


def _check_not_above_headcount(session: TrainingSession, named: int) -> None:
    headcount = Headcount.objects.filter(session=session).first()
    if headcount is not None and named > headcount.total:
        raise ValidationError(
            _("The headcount says %(total)s people were present; raise it before adding names.")
            % {"total": headcount.total}
        )


@transaction.atomic
def attendance_add(
    *,
    by: User,
    session: TrainingSession,
    member: Member | None = None,
    full_name: str = "",
    agency: str = "",
    position: str = "",
    phone: str = "",
    is_demo: bool = False,
) -> Attendance:
    """Put a person on a held session's list: a team member, or anyone by name."""
    session = _held_session(session.pk)
    ensure_can(by, "trainings.add_attendance", session)
    if member is not None:
        full_name = full_name or member.full_name
        phone = phone or member.phone
        agency = agency or str(member.team)
    phone = clean_phone(phone)
    attendance = Attendance(
        session=session,
        member=member,
        full_name=" ".join(full_name.split()),
        agency=" ".join(agency.split()),
        position=" ".join(position.split()),
        phone=phone,
        recorded_by=by if by.pk else None,
        is_demo=is_demo,
    )
    attendance.person_key = person_key(
        phone=phone,
        member_id=member.pk if member else None,
        full_name=attendance.full_name,
        agency=attendance.agency,
    )
    attendance.full_clean(exclude=["person_key"], validate_constraints=False)
    _check_not_above_headcount(session, session.attendances.count() + 1)
    try:
        with transaction.atomic():
            attendance.save()
    except IntegrityError:
        raise ValidationError(_("This person is already on the session's list.")) from None
    _audit(by, Action.CREATED, attendance, ATTENDANCE_AUDITED, commune_id=session.commune_id)
    _mark(session)
    return attendance


@transaction.atomic
def attendance_remove(*, by: User, attendance: Attendance) -> None:
    session = TrainingSession.objects.select_for_update().get(pk=attendance.session_id)
    ensure_can(by, "trainings.delete_attendance", session)
    _audit(
        by,
        Action.DELETED,
        attendance,
        ATTENDANCE_AUDITED,
        before=audit_snapshot(attendance, ATTENDANCE_AUDITED),
        commune_id=session.commune_id,
    )
    attendance.delete()
    _mark(session)


@transaction.atomic
def headcount_set(
    *,
    by: User,
    session: TrainingSession,
    total: int,
    women: int = 0,
    working_age: int = 0,
    priority_groups: int = 0,
) -> Headcount:
    """Record how many people a held mass session had; never fewer than its named list."""
    session = _held_session(session.pk)
    ensure_can(by, "trainings.add_headcount", session)
    headcount = Headcount.objects.filter(session=session).first() or Headcount(session=session)
    audited = audit_snapshot(headcount, HEADCOUNT_AUDITED) if headcount.pk else None
    headcount.total = total
    headcount.women = women
    headcount.working_age = working_age
    headcount.priority_groups = priority_groups
    headcount.recorded_by = by if by.pk else None
    headcount.full_clean()
    named = session.attendances.count()
    if total < named:
        raise ValidationError(
            {
                "total": _("%(named)s people are named on the list: the total cannot be lower.")
                % {"named": named}
            }
        )
    headcount.save()
    _audit(
        by,
        Action.CHANGED if audited else Action.CREATED,
        headcount,
        HEADCOUNT_AUDITED,
        before=audited,
        commune_id=session.commune_id,
    )
    _mark(session)
    return headcount


def member_attendance_erase(sender, *, instance, by: User | None, **kwargs) -> None:
    """A member's personal data was erased: so it is from the attendance lists and their
    trail. The member stays on the lists (the counts stay), under their number."""
    if sender is not Member:
        return
    member = instance
    attendances = list(Attendance.objects.filter(member=member))
    for attendance in attendances:
        attendance.full_name = member.full_name
        attendance.phone = ""
        attendance.person_key = person_key(member_id=member.pk)
        audit_scrub(obj=attendance, fields=("full_name", "phone", "member"), label=member.full_name)
    Attendance.objects.bulk_update(attendances, ["full_name", "phone", "person_key"])


def place_index() -> PlaceNames:
    """Every commune and district by name: build it once per import and pass it to
    place_from_agency."""
    return PlaceNames.load()


def place_from_agency(
    agency: str, index: PlaceNames | None = None
) -> tuple[Commune | None, District | None]:
    """The commune or district an agency's name refers to ("UBND xã Hải Đông"), if any
    (communes/names.py: as written, or folded for a name typed without any mark)."""
    index = index or place_index()
    commune_id, district_id = index.place_of(agency)
    if commune_id is not None:
        return index.communes[commune_id], None
    if district_id is not None:
        return None, index.districts[district_id]
    return None, None


def course_index() -> NameIndex[str]:
    """The courses records name, to find the one a typed course name means."""
    names = CourseEnrolment.objects.order_by("course").values_list("course", flat=True)
    return NameIndex(names.distinct(), name=str, kinds=())


def course_name_resolve(course: str, index: NameIndex[str]) -> str:
    """The course `course` names, as records already spell it; a new course is added.

    "CHUYỂN ĐỔI SỐ TRONG CƠ QUAN NHÀ NƯỚC" is the course "Chuyển đổi số trong cơ quan
    nhà nước": spelled twice, one learner's completion would count twice.
    """
    course = " ".join(course.split())
    found = index.matches(course)
    if len(found) > 1:
        raise ValidationError(
            {
                "course": _("Which course: %(candidates)s? Write its name with its tone marks.")
                % {"candidates": either(sorted(found))}
            }
        )
    if found:
        return found[0]
    index.add(course)
    return course


@transaction.atomic
def course_enrolment_save(
    *,
    by: User,
    course: str,
    full_name: str,
    agency: str = "",
    email: str = "",
    phone: str = "",
    enrolled_on: date | None = None,
    completed_on: date | None = None,
    score: Decimal | None = None,
    commune: Commune | None = None,
    district: District | None = None,
    places: PlaceNames | None = None,
    courses: NameIndex[str] | None = None,
    is_demo: bool = False,
) -> tuple[CourseEnrolment, bool, bool]:
    """Create or update one learner's record of a course; returns it, created, changed.

    Re-importing the platform's list updates records and never duplicates them: a
    learner is their phone, else their e-mail, else their name and agency.
    """
    # A learner's record belongs to no place the user keeps: the permission decides.
    ensure_can(by, "trainings.add_courseenrolment", None)
    phone = clean_phone(phone)
    full_name, agency = (" ".join(v.split()) for v in (full_name, agency))
    course = course_name_resolve(course, course_index() if courses is None else courses)
    key = person_key(phone=phone, email=email, full_name=full_name, agency=agency)
    enrolment = CourseEnrolment.objects.select_for_update().filter(course=course, person_key=key)
    enrolment = enrolment.first()
    created = enrolment is None
    if created:
        enrolment = CourseEnrolment(course=course, person_key=key, is_demo=is_demo)
    if commune is None and district is None:
        commune, district = place_from_agency(agency, places)
    values = {
        "full_name": full_name,
        "agency": agency,
        "email": email.strip().lower(),
        "phone": phone,
        "enrolled_on": enrolled_on,
        "completed_on": completed_on,
        "score": score,
        "commune_id": commune.pk if commune else None,
        "district_id": district.pk if district else None,
    }
    before = {f: getattr(enrolment, f) for f in values}
    changed = created or before != values
    if not changed:
        return enrolment, False, False
    old_bucket = _enrolment_bucket(enrolment) if not created else None
    for field, value in values.items():
        setattr(enrolment, field, value)
    enrolment.full_clean(exclude=["person_key"], validate_constraints=False)
    enrolment.save()
    marks = {"commune_days": [], "district_days": [], "province_days": []}
    for bucket in (old_bucket, _enrolment_bucket(enrolment)):
        if bucket:
            key_name, value = bucket
            marks[key_name].append(value)
    mark_changed(source=ChangeSource.TRAININGS, **marks)
    return enrolment, created, True


def _enrolment_bucket(enrolment: CourseEnrolment):
    """A completion counts on its day, where the learner's agency is (else the province)."""
    if enrolment.completed_on is None:
        return None
    if enrolment.commune_id:
        return "commune_days", (enrolment.commune_id, enrolment.completed_on)
    if enrolment.district_id:
        return "district_days", (enrolment.district_id, enrolment.completed_on)
    return "province_days", enrolment.completed_on
