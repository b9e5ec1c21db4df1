"""Bulk import of teams and members (the lists' exports are beside the lists, in teams.py).

URLs (namespace "outreach"):
- imports/new/                 member_import_new       upload a file
- imports/template.xlsx        member_import_template  the template to fill in
- imports/<id>/                member_import_detail    progress, errors or preview
- imports/<id>/apply/          member_import_apply     POST: apply a checked file
- imports/<id>/check/          member_import_check     POST: check the file again
- imports/<id>/logins.csv      member_import_logins    POST: the new passwords, once
"""

import csv
import io
from datetime import date

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import permission_needed
from accounts.models import AuditEntry, ScopeLevel
from accounts.scopes import Scope, scope_for
from accounts.services import audit_access
from communes.models import Commune
from core.exports import BOM, XLSX_CONTENT_TYPE, neutralise
from core.file_imports import detail_context

from .. import exports
from ..forms.imports import MemberImportForm
from ..imports import (
    member_import_apply_request,
    member_import_create,
    member_import_logins_take,
    member_import_recheck,
)
from ..models import Member, MemberImport

NO_STORE = "no-store, max-age=0"


# Imports are for commune officials (their commune) and administrators. Team leaders may
# add members, but a whole list is the commune's to load; provincial and district staff
# read and do not write rosters.
IMPORT_PERMISSION = "outreach.add_member"
IMPORT_REFUSAL = gettext_lazy(
    "Lists are imported by commune officials, each for their own commune, and by administrators."
)


def _loads_lists(scope: Scope) -> bool:
    return scope.sees_everything or scope.level == ScopeLevel.COMMUNE


def _own_import(request, pk: int) -> MemberImport:
    # An import is its uploader's: anyone else's is simply not found.
    return get_object_or_404(MemberImport.objects.defer("content"), pk=pk, created_by=request.user)


@permission_needed(IMPORT_PERMISSION, refusal=IMPORT_REFUSAL, where=_loads_lists)
@require_http_methods(["GET", "POST"])
def member_import_new(request):
    form = MemberImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        member_import = member_import_create(
            by=request.user,
            file_name=upload.name,
            content=upload.read(),
            create_logins=form.cleaned_data["create_logins"],
            language=request.LANGUAGE_CODE,
        )
        return redirect("outreach:member_import_detail", pk=member_import.pk)
    recent = MemberImport.objects.filter(created_by=request.user).defer("content")[:10]
    return render(request, "outreach/imports/new.html", {"form": form, "recent": recent})


@permission_needed(IMPORT_PERMISSION, refusal=IMPORT_REFUSAL, where=_loads_lists)
@require_GET
@never_cache
def member_import_detail(request, pk: int):
    member_import = _own_import(request, pk)
    context = {**detail_context(member_import), "has_logins": bool(member_import.new_logins)}
    response = render(request, "outreach/imports/detail.html", context)
    if member_import.in_progress:
        # The page follows a background task: reload until it is done (no script needed).
        response["Refresh"] = "2"
    return response


@permission_needed(IMPORT_PERMISSION, refusal=IMPORT_REFUSAL, where=_loads_lists)
@require_POST
def member_import_apply(request, pk: int):
    member_import = _own_import(request, pk)
    if not member_import_apply_request(member_import=member_import):
        messages.error(request, _("This file is not ready to be imported."))
    return redirect("outreach:member_import_detail", pk=member_import.pk)


@permission_needed(IMPORT_PERMISSION, refusal=IMPORT_REFUSAL, where=_loads_lists)
@require_POST
def member_import_check(request, pk: int):
    member_import = _own_import(request, pk)
    if not member_import_recheck(member_import=member_import):
        messages.error(request, _("This file cannot be checked again now."))
    return redirect("outreach:member_import_detail", pk=member_import.pk)


@permission_needed(IMPORT_PERMISSION, refusal=IMPORT_REFUSAL, where=_loads_lists)
@require_POST
def member_import_logins(request, pk: int):
    """The logins the import created and their passwords, handed out once."""
    member_import = _own_import(request, pk)
    logins = member_import_logins_take(member_import=member_import)
    if not logins:
        messages.error(
            request,
            _(
                "The passwords were already downloaded. Reset a leader's password from "
                "their member page if it was lost."
            ),
        )
        return redirect("outreach:member_import_detail", pk=member_import.pk)
    audit_access(
        by=request.user, action=AuditEntry.Action.EXPORTED, obj=member_import, subject=request.path
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Login name"), _("Password"), _("Full name"), _("Team")])
    for login in logins:
        writer.writerow(
            [
                login["username"],
                login["password"],
                *map(neutralise, [login["full_name"], login["team"]]),
            ]
        )
    response = HttpResponse(BOM + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="logins-{member_import.pk}.csv"'
    response["Cache-Control"] = NO_STORE
    return response


@permission_needed(IMPORT_PERMISSION, refusal=IMPORT_REFUSAL, where=_loads_lists)
@require_GET
def member_import_template(request):
    scope = scope_for(request.user)
    commune = (
        Commune.objects.filter(pk__in=scope.commune_ids).first()
        if scope.commune_ids
        else Commune.objects.order_by("code").first()
    )
    example = [
        commune.code if commune else "",
        commune.name if commune else "",
        _("Team 1"),
        "",
        "Nguyễn Văn An",
        str(Member.Gender.MALE.label),
        1995,
        "0912345678",
        str(Member.Role.LEADER.label),
        str(exports.YES),
        str(Member.Affiliation.YOUTH_UNION.label),
        str(exports.YES),
        date(2023, 3, 15),
        date(2023, 3, 1),
    ]
    response = HttpResponse(exports.template_bytes(example), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="member-import-template.xlsx"'
    return response


urlpatterns = [
    path("imports/new/", member_import_new, name="member_import_new"),
    path("imports/template.xlsx", member_import_template, name="member_import_template"),
    path("imports/<int:pk>/", member_import_detail, name="member_import_detail"),
    path("imports/<int:pk>/apply/", member_import_apply, name="member_import_apply"),
    path("imports/<int:pk>/check/", member_import_check, name="member_import_check"),
    path("imports/<int:pk>/logins.csv", member_import_logins, name="member_import_logins"),
]
