"""Exports of training sessions, of a session's named attendance list and of the online
courses' learners.

The files are written by the outreach exports' helpers (CSV with a byte-order mark,
streamed; XLSX through openpyxl's write-only workbook; formula-like text neutralised):
this module only says which columns and rows.
"""

from collections.abc import Iterator
from typing import Any

from django.db.models import F, Prefetch, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.file_imports.cells import NO, YES

from .imports import COLUMNS as COURSE_COLUMNS
from .models import Attendance, CourseEnrolment, Topic, TrainingSession
from .selectors import AttendanceList, with_attendees


def _label(model, field: str) -> str:
    return capfirst(str(model._meta.get_field(field).verbose_name))


def session_header() -> list[str]:
    return [
        _("Session number"),
        _label(TrainingSession, "starts_on"),
        _label(TrainingSession, "ends_on"),
        _label(TrainingSession, "title"),
        _label(TrainingSession, "format"),
        _label(TrainingSession, "topics"),
        _label(TrainingSession, "audience"),
        _label(TrainingSession, "level"),
        _label(TrainingSession, "district"),
        _label(TrainingSession, "commune"),
        _label(TrainingSession, "organiser"),
        _label(TrainingSession, "organiser_name"),
        _label(TrainingSession, "capacity"),
        _label(TrainingSession, "status"),
        _("Named attendees"),
        _("Attendees"),
        _("Of whom women"),
        _("Of working age"),
        _("From priority groups"),
    ]


def session_rows(sessions: QuerySet[TrainingSession]) -> Iterator[list[Any]]:
    """One row per session of `sessions` (already scoped and filtered by the caller).

    Attendees are the headcount where one was taken, else the named list; the parts
    of a headcount are empty where none was taken.
    """
    sessions = (
        with_attendees(sessions)
        .annotate(
            headcount_women=F("headcount__women"),
            headcount_working_age=F("headcount__working_age"),
            headcount_priority_groups=F("headcount__priority_groups"),
        )
        .prefetch_related(Prefetch("topics", queryset=Topic.objects.order_by("sort_order")))
    )
    for session in sessions.iterator(chunk_size=2000):
        district = session.district or (session.commune.district if session.commune else None)
        yield [
            session.pk,
            session.starts_on,
            session.ends_on,
            session.title,
            session.get_format_display(),
            "; ".join(str(topic) for topic in session.topics.all()),
            session.get_audience_display(),
            session.get_level_display(),
            district.name if district else "",
            session.commune.name if session.commune else "",
            session.get_organiser_display(),
            session.organiser_name,
            session.capacity,
            session.get_status_display(),
            session.named_count,
            session.attendee_count,
            session.headcount_women,
            session.headcount_working_age,
            session.headcount_priority_groups,
        ]


def attendance_header() -> list[str]:
    return [
        _("No."),
        _label(Attendance, "full_name"),
        _label(Attendance, "agency"),
        _label(Attendance, "position"),
        _label(Attendance, "phone"),
        _("Team member"),
        _("Team"),
    ]


def attendance_rows(readable: AttendanceList) -> Iterator[list[Any]]:
    """The part of a session's named list the reader may read by name, in Vietnamese
    alphabetical order, numbered; then, below the session's level, one line that counts
    the others, so that the file does not pass for the whole list."""
    for number, attendance in enumerate(readable.named.iterator(chunk_size=2000), start=1):
        member = attendance.member
        yield [
            number,
            attendance.full_name,
            attendance.agency,
            attendance.position,
            attendance.phone,
            str(YES if member else NO),
            member.team.name if member else "",
        ]
    if readable.others:
        note = ngettext(
            "%(count)s attendee from elsewhere is counted, not named.",
            "%(count)s attendees from elsewhere are counted, not named.",
            readable.others,
        ) % {"count": readable.others}
        yield ["", note, "", "", "", "", ""]


def course_header() -> list[str]:
    # The import's columns, so that a file re-imports; where the record counts, for the
    # reader.
    return [*(capfirst(str(column.label)) for column in COURSE_COLUMNS), _("Counted in")]


def course_rows(enrolments: QuerySet[CourseEnrolment]) -> Iterator[list[Any]]:
    """One row per course record of `enrolments` (the learners' list, scoped and
    filtered), in the list's order."""
    province = _("Province")
    for enrolment in enrolments.iterator(chunk_size=2000):
        place = enrolment.commune or enrolment.district
        yield [
            *(getattr(enrolment, column.key) for column in COURSE_COLUMNS),
            place.name if place else province,
        ]
