"""Online courses (MOOCs): the learners' list and the import of the platform's list.

URLs (namespace "trainings", under /trainings/):
- courses/                          course_list            learners the user can see
- courses/export.<csv|xlsx>         course_export          the list's, with its filters
- courses/import/                   course_import_new      upload a file
- courses/import/<id>/              course_import_detail   progress, errors or preview
- courses/import/<id>/apply/        course_import_apply    POST: apply a checked file
- courses/import/<id>/check/        course_import_check    POST: check the file again

Provincial staff (and administrators) load the platform's lists; every role that reads
trainings sees the learners counted in its area.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import permission_needed
from accounts.models import AuditEntry
from accounts.services import audit_access
from communes.models import VietnameseOrder
from core.exports import export_links, export_response, xlsx_refusal
from core.file_imports import detail_context

from .. import exports
from ..filters import CourseFilter
from ..forms.courses import CourseImportForm
from ..imports import (
    course_import_apply_request,
    course_import_create,
    course_import_recheck,
)
from ..models import CourseImport
from ..selectors import enrolments_visible

PAGE_SIZE = 50
# Loading the platform's list is for those who may add course records (provincial staff,
# administrators).
IMPORT_PERMISSION = "trainings.add_courseenrolment"


def _own_import(request: HttpRequest, pk: int) -> CourseImport:
    # An import is its uploader's: anyone else's is simply not found.
    return get_object_or_404(CourseImport.objects.defer("content"), pk=pk, created_by=request.user)


# --- The learners' list ----------------------------------------------------------------


def _filtered(request: HttpRequest) -> CourseFilter:
    """The user's course records through the filter bar (the list's and its export's)."""
    visible = enrolments_visible(request.user)
    courses = list(visible.order_by("course").values_list("course", flat=True).distinct())
    return CourseFilter(
        request.GET,
        visible.order_by(VietnameseOrder("full_name"), "course", "pk"),
        courses=courses,
    )


@login_required
@require_GET
@permission_needed("trainings.view_courseenrolment")
def course_list(request: HttpRequest) -> HttpResponse:
    filters = _filtered(request)
    page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": filters.form,
        "page": page,
        "exports": export_links(request, "trainings:course_export", page.paginator.count),
        "can_import": request.user.has_perm(IMPORT_PERMISSION),
    }
    return render(request, "trainings/courses/list.html", context)


@login_required
@require_GET
@permission_needed("trainings.view_courseenrolment")
def course_export(request: HttpRequest, fmt: str) -> HttpResponse:
    enrolments = _filtered(request).qs
    if fmt == "xlsx" and (refusal := xlsx_refusal(request, enrolments.count())):
        return refusal
    # Learners' names, e-mails and phones leave the portal.
    audit_access(by=request.user, action=AuditEntry.Action.EXPORTED, subject=request.path)
    return export_response(
        request,
        fmt,
        "online-courses",
        exports.course_header(),
        exports.course_rows(enrolments),
        _("Online courses"),
    )


# --- The import ------------------------------------------------------------------------


@permission_needed(IMPORT_PERMISSION)
@require_http_methods(["GET", "POST"])
def course_import_new(request: HttpRequest) -> HttpResponse:
    form = CourseImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        course_import = course_import_create(
            by=request.user,
            file_name=upload.name,
            content=upload.read(),
            language=request.LANGUAGE_CODE,
        )
        return redirect("trainings:course_import_detail", pk=course_import.pk)
    recent = CourseImport.objects.filter(created_by=request.user).defer("content")[:10]
    return render(request, "trainings/courses/import_new.html", {"form": form, "recent": recent})


@permission_needed(IMPORT_PERMISSION)
@require_GET
@never_cache
def course_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course_import = _own_import(request, pk)
    response = render(
        request, "trainings/courses/import_detail.html", detail_context(course_import)
    )
    if course_import.in_progress:
        # The page follows a background task: reload until it is done (no script needed).
        response["Refresh"] = "2"
    return response


@permission_needed(IMPORT_PERMISSION)
@require_POST
def course_import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    course_import = _own_import(request, pk)
    if not course_import_apply_request(course_import=course_import):
        messages.error(request, _("This file is not ready to be imported."))
    return redirect("trainings:course_import_detail", pk=course_import.pk)


@permission_needed(IMPORT_PERMISSION)
@require_POST
def course_import_check(request: HttpRequest, pk: int) -> HttpResponse:
    course_import = _own_import(request, pk)
    if not course_import_recheck(course_import=course_import):
        messages.error(request, _("This file cannot be checked again now."))
    return redirect("trainings:course_import_detail", pk=course_import.pk)


urlpatterns = [
    path("courses/", course_list, name="course_list"),
    re_path(r"^courses/export\.(?P<fmt>csv|xlsx)$", course_export, name="course_export"),
    path("courses/import/", course_import_new, name="course_import_new"),
    path("courses/import/<int:pk>/", course_import_detail, name="course_import_detail"),
    path("courses/import/<int:pk>/apply/", course_import_apply, name="course_import_apply"),
    path("courses/import/<int:pk>/check/", course_import_check, name="course_import_check"),
]
