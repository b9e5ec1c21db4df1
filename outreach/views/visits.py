"""Door-to-door visits: the team leader's phone form, a visit's page and the visit list."""

import uuid
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path, reverse
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import NotAllowed, can, ensure_can, get_for_user
from accounts.decorators import json_requested, permission_needed, refused_json
from accounts.models import AuditEntry
from accounts.services import audit_access
from core.exports import export_links, export_response, xlsx_refusal

from .. import exports
from ..catalogue import SERVICE_LABELS
from ..filters import VisitFilter
from ..forms.visits import READINESS_CHOICES, EditVisitForm, NewVisitForm
from ..models import READINESS_FIELDS, Visit
from ..selectors import (
    households_matching,
    last_visit_defaults,
    visit_choices_for_leader,
    visit_trail,
    visit_trail_names,
    visits_visible,
)
from ..services import VisitConflict, visit_delete, visit_record, visit_update
from ..services.access import visit_edit_window
from .offline import choices_etag, no_team_reason

VISITS_PER_PAGE = 50
HOUSEHOLD_MATCHES = 10


def _refused(request, refusal: NotAllowed, visit: Visit | None = None):
    """A 403 page that says why, e.g. the 7 days to change a visit are over."""
    return render(
        request,
        "outreach/visits/refused.html",
        {"reason": str(refusal), "visit": visit},
        status=403,
    )


def _with_fresh_submission_id(data):
    """The posted values under a new submission id, so that saving again stores a new visit."""
    data = data.copy()
    data["submission_id"] = str(uuid.uuid4())
    return data


def _form_page(request, form, *, team, visit=None, status=200, conflict=None, choices=None):
    context = {"form": form, "team": team, "visit": visit, "conflict": conflict}
    if choices is not None:
        # Which choices the page was made with: the phone's scripts compare it with the
        # ones they stored since (outreach/views/offline.py).
        context["choices_etag"] = choices_etag(request.user, choices)
    return render(request, "outreach/visits/form.html", context, status=status)


def _record(request, form, team):
    """The form's visit stored (once per submission id): (visit, whether it is new)."""
    data = form.cleaned_data
    return visit_record(
        by=request.user,
        team=team,
        submission_id=data["submission_id"],
        hamlet=data["hamlet"],
        address_label=data["address_label"],
        data=form.visit_data(),
        head_name=data["head_name"],
        consent=data["consent"],
        household_found=form.household_found,
    )


def _invalid_json(form):
    errors = {
        name: [error["message"] for error in items]
        for name, items in form.errors.get_json_data().items()
    }
    if "submission_id" in errors:
        # A hidden field: the leader is told what the page says, not the UUID's rule.
        errors["submission_id"] = [
            _("The page was incomplete. Check what you typed and send it again.")
        ]
    return JsonResponse({"status": "invalid", "errors": errors}, status=400)


def _visit_new_json(request, form, team):
    """A visit sent by the phone's outbox (static/js/offline/outbox.js): the HTML form's
    answers as JSON, which the outbox files as stored, to correct, or to send again."""
    if not form.is_valid():
        return _invalid_json(form)
    try:
        visit, created = _record(request, form, team)
    except VisitConflict as conflict:
        visit_url = (
            reverse("outreach:visit_detail", args=[conflict.visit.pk]) if conflict.visit else None
        )
        reason = _(
            "This visit was already sent with different content. Nothing was saved or changed."
        )
        return JsonResponse(
            {"status": "conflict", "reason": reason, "visit_url": visit_url}, status=409
        )
    except NotAllowed as refusal:
        return refused_json(str(refusal))
    except ValidationError as error:
        form.add_service_errors(error)
        return _invalid_json(form)
    if request.headers.get("X-Visit-Submit") == "foreground":
        # The leader pressed Save and the page opens the visit: as after the HTML form.
        # Sent in the background, a message would turn up later on an unrelated page.
        messages.success(request, _("Visit saved."))
    body = {
        "status": "stored",
        "id": visit.pk,
        "url": reverse("outreach:visit_detail", args=[visit.pk]),
    }
    if not created:
        body["again"] = True
    return JsonResponse(body, status=201 if created else 200)


@never_cache  # so that Back after saving fetches a fresh submission id, not the old page
@require_http_methods(["GET", "POST"])
@permission_needed("outreach.add_visit", login_next="outreach:visit_outbox")
def visit_new(request):
    """The phone form; posted with `Accept: application/json` (the outbox's sends), it
    answers JSON rather than pages and redirects (_visit_new_json)."""
    # The team comes from the login, never from the form; it and the form's choices from
    # the cache, when it has them.
    choices = visit_choices_for_leader(request.user)
    as_json = request.method == "POST" and json_requested(request)
    if choices is None:
        if as_json:
            return refused_json(no_team_reason())
        return render(request, "outreach/visits/no_team.html", status=403)
    team = choices.team
    if request.method != "POST":
        initial = NewVisitForm.initial_for_team(team, last_visit_defaults(team))
        form = NewVisitForm(initial=initial, team=team, user=request.user, choices=choices)
        return _form_page(request, form, team=team, choices=choices)

    form = NewVisitForm(request.POST, team=team, user=request.user, choices=choices)
    if as_json:
        return _visit_new_json(request, form, team)
    if not form.is_valid():
        if "submission_id" in form.errors:
            # A page that lost its id: the rest is kept and a new id lets it be sent again.
            form = NewVisitForm(
                _with_fresh_submission_id(request.POST),
                team=team,
                user=request.user,
                choices=choices,
            )
        return _form_page(request, form, team=team, choices=choices)
    try:
        visit, _created = _record(request, form, team)
    except VisitConflict as conflict:
        # Most often the browser's Back button re-sent an old page with new content.
        # Nothing was stored; the content stays on the page under a fresh id, so that
        # the leader can save it as a new visit once they have checked it.
        form = NewVisitForm(
            _with_fresh_submission_id(request.POST), team=team, user=request.user, choices=choices
        )
        return _form_page(request, form, team=team, status=409, conflict=conflict, choices=choices)
    except NotAllowed as refusal:
        return _refused(request, refusal)
    except ValidationError as error:
        form.add_service_errors(error)
        return _form_page(request, form, team=team, choices=choices)
    # A resend of a visit already stored lands on the same page as the first send.
    messages.success(request, _("Visit saved."))
    return redirect("outreach:visit_detail", pk=visit.pk)


@require_GET
@permission_needed("outreach.view_household")
def household_search(request):
    """Households of the user's scope whose address starts like the text typed, as JSON."""
    try:
        hamlet_id = int(request.GET.get("hamlet", ""))
    except ValueError:
        hamlet_id = None
    households = households_matching(
        request.user,
        hamlet_id=hamlet_id,
        text=request.GET.get("q", "")[:200],
        limit=HOUSEHOLD_MATCHES,
    )
    return JsonResponse(
        [
            {"id": h.pk, "address_label": h.address_label, "head_name": h.head_name}
            for h in households
        ],
        safe=False,
    )


def _answer(value) -> str:
    choices = dict(READINESS_CHOICES)
    return str(choices["yes" if value is True else "no" if value is False else ""])


def _history(user, changes: list[AuditEntry]) -> list[dict]:
    """The visit's entries in words: what each change turned from what into what."""
    labels = {
        "team": _("Team"),
        "household": _("Address"),
        "hamlet": _("Hamlet"),
        "visited_on": _("Day of the visit"),
        "members": _("Who went"),
        "services": _("What you helped with"),
        "residents_helped": _("Residents helped"),
        "outcome": _("Outcome"),
        "notes": _("Notes"),
        **{item: capfirst(Visit._meta.get_field(item).verbose_name) for item in READINESS_FIELDS},
    }
    order = {key: position for position, key in enumerate(labels)}
    edits = [c for c in changes if c.action == AuditEntry.Action.CHANGED]
    names = visit_trail_names(user, edits)
    hamlet_names, member_names = names["hamlet"], names["members"]
    outcomes = dict(Visit.Outcome.choices)

    def words(key, value) -> str:
        if key in READINESS_FIELDS:
            return _answer(value)
        if value in (None, "", []):
            return "—"
        if key == "hamlet":
            return hamlet_names.get(value, f"#{value}")
        if key == "members":
            return ", ".join(member_names.get(pk, f"#{pk}") for pk in value)
        if key == "services":
            return ", ".join(str(SERVICE_LABELS.get(code, code)) for code in value)
        if key == "outcome":
            return str(outcomes.get(value, value))
        if key == "visited_on":
            return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
        return str(value)

    rows = []
    for change in changes:
        items = []
        if change.action == AuditEntry.Action.CHANGED:
            items = [
                {
                    "label": labels.get(key, key),
                    "before": words(key, before),
                    "after": words(key, after),
                }
                for key, (before, after) in sorted(
                    change.changes.items(), key=lambda item: order.get(item[0], len(order))
                )
            ]
        rows.append({"change": change, "items": items})
    return rows


@require_GET
@permission_needed("outreach.view_visit")
def visit_detail(request, pk: int):
    visit = get_for_user(
        request.user,
        lambda user: visits_visible(user).select_related("household__hamlet__commune"),
        pk=pk,
    )
    audit_access(
        by=request.user,
        action=AuditEntry.Action.VIEWED,
        obj=visit,
        commune_id=visit.team.commune_id,
    )
    changes = visit_trail(visit)
    readiness = [
        (capfirst(Visit._meta.get_field(item).verbose_name), _answer(getattr(visit, item)))
        for item in READINESS_FIELDS
    ]
    can_change = can(request.user, "outreach.change_visit", visit)
    context = {
        "visit": visit,
        "readiness": readiness,
        "history": _history(request.user, changes),
        # Whether to offer the buttons (a leader has 7 days); the services decide for real.
        "can_change": can_change,
        "can_delete": can_change and can(request.user, "outreach.delete_visit", visit),
        # Until when a leader may, or since when they may no longer.
        "edit_window": visit_edit_window(request.user, visit),
    }
    return render(request, "outreach/visits/detail.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@permission_needed("outreach.change_visit")
def visit_edit(request, pk: int):
    visit = get_for_user(request.user, visits_visible, pk=pk)
    try:
        # Said before the leader types anything, not after they press save.
        ensure_can(request.user, "outreach.change_visit", visit)
    except NotAllowed as refusal:
        return _refused(request, refusal, visit)
    team = visit.team
    if request.method != "POST":
        form = EditVisitForm(
            initial=EditVisitForm.initial_for(visit), team=team, user=request.user, visit=visit
        )
        return _form_page(request, form, team=team, visit=visit)

    form = EditVisitForm(request.POST, team=team, user=request.user, visit=visit)
    if not form.is_valid():
        return _form_page(request, form, team=team, visit=visit)
    try:
        visit_update(
            by=request.user,
            visit=visit,
            hamlet=form.cleaned_data["hamlet"],
            address_label=form.cleaned_data["address_label"],
            data=form.visit_data(),
        )
    except NotAllowed as refusal:
        return _refused(request, refusal, visit)
    except ValidationError as error:
        form.add_service_errors(error)
        return _form_page(request, form, team=team, visit=visit)
    messages.success(request, _("Visit changed."))
    return redirect("outreach:visit_detail", pk=visit.pk)


@require_http_methods(["GET", "POST"])
@permission_needed("outreach.delete_visit")
def visit_delete_view(request, pk: int):
    visit = get_for_user(request.user, visits_visible, pk=pk)
    try:
        ensure_can(request.user, "outreach.delete_visit", visit)
        if request.method == "POST":
            visit_delete(by=request.user, visit=visit)
            messages.success(request, _("Visit deleted."))
            return redirect("outreach:visit_list")
    except NotAllowed as refusal:
        return _refused(request, refusal, visit)
    return render(request, "outreach/visits/confirm_delete.html", {"visit": visit})


@require_GET
@permission_needed("outreach.view_visit")
def visit_list(request):
    filters = VisitFilter(request.GET, visits_visible(request.user), user=request.user)
    visits = filters.qs.select_related("household__hamlet__commune").order_by("-visited_on", "-id")
    page = Paginator(visits, VISITS_PER_PAGE).get_page(request.GET.get("page"))
    audit_access(by=request.user, action=AuditEntry.Action.VIEWED, subject=request.path)
    context = {
        "form": filters.form,
        "page": page,
        # The paginator's count is the list's total: the links need no other.
        "exports": export_links(request, "outreach:visit_export", page.paginator.count),
        "chosen_team": filters.applied.get("team"),
        "can_add": request.user.has_perm("outreach.add_visit"),
    }
    return render(request, "outreach/visits/list.html", context)


@require_GET
@permission_needed("outreach.view_visit")
def visit_export(request, fmt: str):
    """The visits of the list's filters: CSV streamed, since a province's year of visits
    is millions of rows; XLSX while they fit in a sheet."""
    filters = VisitFilter(request.GET, visits_visible(request.user), user=request.user)
    if fmt == "xlsx" and (refusal := xlsx_refusal(request, filters.qs.count())):
        return refusal
    rows = exports.visit_rows(filters.qs)
    audit_access(by=request.user, action=AuditEntry.Action.EXPORTED, subject=request.path)
    return export_response(request, fmt, "visits", exports.visit_header(), rows, _("Visits"))


urlpatterns = [
    path("visits/", visit_list, name="visit_list"),
    re_path(r"^visits/export\.(?P<fmt>csv|xlsx)$", visit_export, name="visit_export"),
    path("visits/new/", visit_new, name="visit_new"),
    path("visits/households/", household_search, name="household_search"),
    path("visits/<int:pk>/", visit_detail, name="visit_detail"),
    path("visits/<int:pk>/edit/", visit_edit, name="visit_edit"),
    path("visits/<int:pk>/delete/", visit_delete_view, name="visit_delete"),
]
