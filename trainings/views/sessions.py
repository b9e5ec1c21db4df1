"""Training-session pages: the list and calendar, a session's form and page with its
attendance, the printable attendance sheet, the priority communes and the exports.

Sessions are read through `sessions_visible` (outside the scope: 404) and written
through the trainings services, which check again that the user keeps sessions at the
session's level and place (if not: 403). A new session's level and place come from the
user's scope, never from the form, except for administrators, who choose them.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import can, ensure_can, get_for_user
from accounts.decorators import permission_needed
from accounts.models import AuditEntry, ScopeLevel, User
from accounts.scopes import Scope, scope_for
from accounts.services import audit_access
from communes.models import Commune, District, VietnameseOrder
from core.exports import export_links, export_response, xlsx_refusal

from .. import exports, services
from ..filters import SessionFilter
from ..forms.sessions import AttendanceForm, HeadcountForm, SessionForm
from ..models import Attendance, Headcount, Level, TrainingSession
from ..selectors import (
    attendance_visible,
    communes_priority,
    members_to_pick,
    session_history,
    sessions_visible,
    with_attendees,
)

PAGE_SIZE = 50
# Rows of the printed sheet when the session gives no capacity, and at most: a mass
# session counts heads, it does not collect hundreds of signatures.
SHEET_ROWS = 30
SHEET_ROWS_MAX = 200

HELD = TrainingSession.Status.HELD


# --- Helpers -------------------------------------------------------------------------


SESSIONS_KEPT_BY = gettext_lazy("Sessions are kept by the province, districts and communes.")


def _keeps_sessions(scope: Scope) -> bool:
    """Whether the user's level keeps sessions (a team's does not)."""
    return scope.sees_everything or scope.level in (
        ScopeLevel.PROVINCE,
        ScopeLevel.DISTRICT,
        ScopeLevel.COMMUNE,
    )


def _own_place(user: User) -> tuple[str, District | None, Commune | None] | None:
    """The level and place of the sessions a user creates; None for administrators,
    who choose them. The page lets in no other level (`_keeps_sessions`), and the
    service refuses a session of another level than the user's."""
    scope = scope_for(user)
    if scope.sees_everything:
        return None
    if scope.level == ScopeLevel.COMMUNE:
        commune = Commune.objects.select_related("district").get(pk=user.scope_commune_id)
        return Level.COMMUNE, None, commune
    if scope.level == ScopeLevel.DISTRICT:
        return Level.DISTRICT, District.objects.get(pk=user.scope_district_id), None
    return Level.PROVINCE, None, None


def _filtered(request: HttpRequest) -> SessionFilter:
    """The user's sessions, newest first, through the filter bar (the list's and its
    export's)."""
    user = request.user
    return SessionFilter(
        request.GET, sessions_visible(user).order_by("-starts_on", "-id"), user=user
    )


# --- List and calendar ---------------------------------------------------------------


@require_GET
@permission_needed("trainings.view_trainingsession")
def session_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filters = _filtered(request)
    sessions = with_attendees(filters.qs)
    page = Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": filters.form,
        "page": page,
        "exports": export_links(request, "trainings:session_export", page.paginator.count),
        "can_add": user.has_perm("trainings.add_trainingsession"),
    }
    return render(request, "trainings/sessions/list.html", context)


@dataclass(frozen=True)
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    sessions: list


def _month(value: str | None) -> date:
    """The first day of the month asked for as 2026-06, else of this month."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 2000 <= year <= 2100:
            return date(year, month, 1)
    except ValueError:
        pass
    return timezone.localdate().replace(day=1)


@require_GET
@permission_needed("trainings.view_trainingsession")
def session_calendar(request: HttpRequest) -> HttpResponse:
    first = _month(request.GET.get("month"))
    weeks = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(
        first.year, first.month
    )
    last = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
    by_day: dict[date, list] = {}
    sessions = (
        sessions_visible(request.user)
        .filter(starts_on__gte=first, starts_on__lte=last)
        .order_by("starts_on", VietnameseOrder("title"), "pk")
    )
    for session in sessions:
        by_day.setdefault(session.starts_on, []).append(session)
    today = timezone.localdate()
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    context = {
        "first": first,
        "weekdays": [WEEKDAYS_ABBR[index] for index in range(7)],
        "weeks": [
            [
                CalendarDay(day, day.month == first.month, day == today, by_day.get(day, []))
                for day in week
            ]
            for week in weeks
        ],
        "session_count": sum(len(day_sessions) for day_sessions in by_day.values()),
        "previous_month": previous.strftime("%Y-%m"),
        "next_month": following.strftime("%Y-%m"),
        "this_month": today.strftime("%Y-%m"),
    }
    return render(request, "trainings/sessions/calendar.html", context)


# --- A session's form ----------------------------------------------------------------


def _form_page(request: HttpRequest, form: SessionForm, *, session=None, place=None):
    level, district, commune = place or (None, None, None)
    context = {
        "form": form,
        "session": session,
        "level_label": Level(level).label if level else None,
        "place": commune or district,
    }
    return render(request, "trainings/sessions/form.html", context)


@require_http_methods(["GET", "POST"])
@permission_needed(
    "trainings.add_trainingsession", where=_keeps_sessions, where_refusal=SESSIONS_KEPT_BY
)
def session_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    place = _own_place(user)
    data = request.POST if request.method == "POST" else None
    today = timezone.localdate()
    initial = {
        "starts_on": today,
        "status": TrainingSession.Status.PLANNED,
        "organiser": TrainingSession.Organiser.DEPARTMENT,
    }
    form = SessionForm(data, initial=initial, choose_place=place is None)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        if place is None:
            level, district, commune = values["level"], values["district"], values["commune"]
        else:
            level, district, commune = place
        try:
            session = services.session_create(
                by=user,
                level=level,
                district=district,
                commune=commune,
                topics=list(values["topics"]),
                **form.session_fields(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Session “%(title)s” added.") % {"title": session.title})
            return redirect("trainings:session_detail", pk=session.pk)
    return _form_page(request, form, place=place)


@require_http_methods(["GET", "POST"])
@permission_needed("trainings.change_trainingsession")
def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    session = get_for_user(user, sessions_visible, pk=pk)
    # Someone who sees the session but does not keep it (district staff and a commune's
    # session) is refused before the form is shown.
    ensure_can(user, "trainings.change_trainingsession", session)
    data = request.POST if request.method == "POST" else None
    form = SessionForm(data, initial=SessionForm.initial_for(session), choose_place=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.session_update(
                by=user,
                session=session,
                topics=list(form.cleaned_data["topics"]),
                **form.session_fields(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Session saved."))
            return redirect("trainings:session_detail", pk=session.pk)
    place = (session.level, session.district, session.commune)
    return _form_page(request, form, session=session, place=place)


# --- A session's page and its attendance ----------------------------------------------


def _detail_page(
    request: HttpRequest,
    pk: int,
    *,
    attendance_form: AttendanceForm | None = None,
    headcount_form: HeadcountForm | None = None,
) -> HttpResponse:
    """The session's page; the forms passed in (with their errors) replace blank ones."""
    user = request.user
    session = get_for_user(user, lambda user: with_attendees(sessions_visible(user)), pk=pk)
    headcount = Headcount.objects.filter(session=session).first()
    held = session.status == HELD
    can_add_attendance = held and can(user, "trainings.add_attendance", session)
    can_set_headcount = held and can(user, "trainings.add_headcount", session)
    if can_add_attendance and attendance_form is None:
        attendance_form = AttendanceForm(members=members_to_pick(user, session))
    if can_set_headcount and headcount_form is None:
        headcount_form = HeadcountForm(initial=HeadcountForm.initial_for(headcount))
    show_attendance = user.has_perm("trainings.view_attendance")
    readable, attendances = None, []
    if show_attendance:
        # The list shows attendees' names and phone numbers.
        audit_access(
            by=user, action=AuditEntry.Action.VIEWED, obj=session, commune_id=session.commune_id
        )
        readable = attendance_visible(user, session)
        attendances = list(readable.named)
    context = {
        "session": session,
        "topics": list(session.topics.order_by("sort_order")),
        "show_attendance": show_attendance,
        "attendances": attendances,
        "readable": readable,
        "headcount": headcount if user.has_perm("trainings.view_headcount") else None,
        "keeps": can(user, "trainings.add_attendance", session),
        "can_change": can(user, "trainings.change_trainingsession", session),
        "can_remove": held and can(user, "trainings.delete_attendance", session),
        "attendance_form": attendance_form if can_add_attendance else None,
        "headcount_form": headcount_form if can_set_headcount else None,
    }
    return render(request, "trainings/sessions/detail.html", context)


@require_GET
@permission_needed("trainings.view_trainingsession")
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, pk)


def _held_or_refused(request: HttpRequest, session: TrainingSession) -> HttpResponse | None:
    """Attendance and headcounts are for held sessions: say so on the session's page.

    The services refuse too; this answers a form posted from a page that was open
    before the session's status changed, without showing the form's other errors.
    """
    if session.status == HELD:
        return None
    messages.error(request, _("Attendance is recorded for sessions that were held."))
    return redirect("trainings:session_detail", pk=session.pk)


@require_POST
@permission_needed("trainings.add_attendance")
def attendance_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    session = get_for_user(user, sessions_visible, pk=pk)
    refused = _held_or_refused(request, session)
    if refused:
        return refused
    form = AttendanceForm(request.POST, members=members_to_pick(user, session))
    if form.is_valid():
        values = form.cleaned_data
        try:
            attendance = services.attendance_add(
                by=user,
                session=session,
                member=values.get("member"),
                full_name=values["full_name"],
                agency=values["agency"],
                position=values["position"],
                phone=values["phone"],
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, _("%(name)s added to the list.") % {"name": attendance.full_name}
            )
            return redirect("trainings:session_detail", pk=session.pk)
    return _detail_page(request, session.pk, attendance_form=form)


@require_POST
@permission_needed("trainings.delete_attendance")
def attendance_remove(request: HttpRequest, pk: int, attendance_id: int) -> HttpResponse:
    user = request.user
    session = get_for_user(user, sessions_visible, pk=pk)
    # The session is one the user sees: so is its list.
    attendance = get_object_or_404(Attendance, session=session, pk=attendance_id)
    services.attendance_remove(by=user, attendance=attendance)
    messages.success(request, _("%(name)s removed from the list.") % {"name": attendance.full_name})
    return redirect("trainings:session_detail", pk=session.pk)


@require_POST
@permission_needed("trainings.add_headcount")
def headcount_set(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    session = get_for_user(user, sessions_visible, pk=pk)
    refused = _held_or_refused(request, session)
    if refused:
        return refused
    form = HeadcountForm(request.POST)
    if form.is_valid():
        try:
            services.headcount_set(by=user, session=session, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Headcount saved."))
            return redirect("trainings:session_detail", pk=session.pk)
    return _detail_page(request, session.pk, headcount_form=form)


# --- Printable sheet -----------------------------------------------------------------


@require_GET
@permission_needed("trainings.view_trainingsession")
def session_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_for_user(request.user, sessions_visible, pk=pk)
    if session.status != TrainingSession.Status.PLANNED:
        messages.info(request, _("The attendance sheet is printed for planned sessions."))
        return redirect("trainings:session_detail", pk=session.pk)
    rows = min(session.capacity or SHEET_ROWS, SHEET_ROWS_MAX)
    context = {"session": session, "rows": range(1, rows + 1)}
    return render(request, "trainings/sessions/sheet.html", context)


# --- Priority communes ---------------------------------------------------------------


def _year(value: str | None) -> int:
    try:
        year = int(value or "")
    except ValueError:
        return timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


@require_GET
@permission_needed("trainings.view_trainingsession")
def priority_communes(request: HttpRequest) -> HttpResponse:
    year = _year(request.GET.get("year"))
    scope = scope_for(request.user)
    rows = [row for row in communes_priority(year) if scope.contains_commune(row.commune)]
    # By district (city first, as the official codes run), names in order within each.
    rows.sort(key=lambda row: row.commune.district.code)
    context = {
        "year": year,
        "rows": rows,
        "held_count": sum(1 for row in rows if row.held_resident_training),
        "previous_year": year - 1,
        "next_year": year + 1,
    }
    return render(request, "trainings/sessions/priority_communes.html", context)


# --- Exports -------------------------------------------------------------------------


@require_GET
@permission_needed("trainings.view_trainingsession")
def session_export(request: HttpRequest, fmt: str) -> HttpResponse:
    sessions = _filtered(request).qs
    if fmt == "xlsx" and (refusal := xlsx_refusal(request, sessions.count())):
        return refusal
    return export_response(
        request,
        fmt,
        "training-sessions",
        exports.session_header(),
        exports.session_rows(sessions),
        _("Training sessions"),
    )


@require_GET
@permission_needed("trainings.view_attendance")
def attendance_export(request: HttpRequest, pk: str, fmt: str) -> HttpResponse:
    session = get_for_user(request.user, sessions_visible, pk=int(pk))
    audit_access(
        by=request.user,
        action=AuditEntry.Action.EXPORTED,
        obj=session,
        subject=request.path,
        commune_id=session.commune_id,
    )
    return export_response(
        request,
        fmt,
        f"attendance-{session.pk}",
        exports.attendance_header(),
        exports.attendance_rows(attendance_visible(request.user, session)),
        _("Attendance"),
    )


@require_GET
@permission_needed("accounts.view_auditentry")
def session_history_page(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_for_user(request.user, sessions_visible, pk=pk)
    context = {
        "record": session,
        "back_url": reverse("trainings:session_detail", args=[session.pk]),
        "entries": session_history(session, request.user),
    }
    return render(request, "history.html", context)


urlpatterns = [
    path("", session_list, name="session_list"),
    path("calendar/", session_calendar, name="session_calendar"),
    path("new/", session_create, name="session_create"),
    path("priority-communes/", priority_communes, name="priority_communes"),
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", session_export, name="session_export"),
    path("<int:pk>/", session_detail, name="session_detail"),
    path("<int:pk>/edit/", session_edit, name="session_edit"),
    path("<int:pk>/history/", session_history_page, name="session_history"),
    path("<int:pk>/sheet/", session_sheet, name="session_sheet"),
    path("<int:pk>/attendance/", attendance_add, name="attendance_add"),
    path(
        "<int:pk>/attendance/<int:attendance_id>/remove/",
        attendance_remove,
        name="attendance_remove",
    ),
    re_path(
        r"^(?P<pk>\d+)/attendance\.(?P<fmt>csv|xlsx)$", attendance_export, name="attendance_export"
    ),
    path("<int:pk>/headcount/", headcount_set, name="headcount_set"),
]
