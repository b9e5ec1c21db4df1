"""Households: the list (and its export), and merging two records of the same household."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.decorators import permission_needed
from accounts.models import AuditEntry
from accounts.services import audit_access
from core.exports import export_links, export_response, xlsx_refusal

from .. import exports
from ..filters import HouseholdFilter
from ..forms.households import HouseholdMergeForm
from ..selectors import households_listed, with_visits_counted
from ..services import households_merge

# A select longer than this is no help on a phone: search first.
MERGE_CHOICES = 200


def _searched(request):
    """The user's households narrowed by the filter bar, and the form itself."""
    filters = HouseholdFilter(request.GET, households_listed(request.user), user=request.user)
    return filters.qs, filters.form


# These pages answer a role without the permission with the 403 page's general words.
@permission_needed("outreach.view_household", refusal="")
def household_list(request):
    households, form = _searched(request)
    page = Paginator(with_visits_counted(households), 50).get_page(request.GET.get("page"))
    # The path only: a search's text (often a name or an address) stays out of the log.
    audit_access(by=request.user, action=AuditEntry.Action.VIEWED, subject=request.path)
    context = {
        "form": form,
        "page": page,
        "exports": export_links(request, "outreach:household_export", page.paginator.count),
    }
    return render(request, "outreach/households/list.html", context)


@permission_needed("outreach.view_household", refusal="")
@require_GET
def household_export(request, fmt: str):
    """The households of the list's filters, without their heads' names or phones."""
    households, _form = _searched(request)
    if fmt == "xlsx" and (refusal := xlsx_refusal(request, households.count())):
        return refusal
    audit_access(by=request.user, action=AuditEntry.Action.EXPORTED, subject=request.path)
    return export_response(
        request,
        fmt,
        "households",
        exports.household_header(),
        exports.household_rows(households),
        _("Households"),
    )


@permission_needed("outreach.change_household", refusal="")
def household_merge(request):
    """Two records of the same household: visits move to the one kept, the other goes."""
    # The choices are the households the official searched for on the list page.
    households, search = _searched(request)
    first = households.filter(pk__in=households.values("pk")[:MERGE_CHOICES])
    form = HouseholdMergeForm(request.POST or None, households=first)
    if request.method == "POST" and form.is_valid():
        try:
            kept = households_merge(
                by=request.user, keep=form.cleaned_data["keep"], remove=form.cleaned_data["remove"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("The two records are now one: %(address)s.") % {"address": kept}
            )
            return redirect("outreach:household_list")
    return render(
        request,
        "outreach/households/merge.html",
        {"form": form, "search": search},
    )


urlpatterns = [
    path("households/", household_list, name="household_list"),
    re_path(r"^households/export\.(?P<fmt>csv|xlsx)$", household_export, name="household_export"),
    path("households/merge/", household_merge, name="household_merge"),
]
