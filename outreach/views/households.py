"""Households: the commune's list, and merging two records of the same household."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from accounts.decorators import permission_needed
from accounts.models import AuditEntry
from accounts.services import audit_access

from ..forms.households import HouseholdMergeForm, HouseholdSearchForm
from ..selectors import hamlets_visible, households_listed
from ..services import households_merge

# A select longer than this is no help on a phone: search first.
MERGE_CHOICES = 200


def _searched(request):
    """The user's households narrowed by the search form, and the form itself."""
    hamlets = hamlets_visible(request.user).filter(is_active=True)
    form = HouseholdSearchForm(request.GET or None, hamlets=hamlets)
    filters = form.cleaned_data if form.is_valid() else {}
    households = households_listed(
        request.user, text=filters.get("q", ""), hamlet_id=filters.get("hamlet")
    )
    return households, form


# These pages answer a role without the permission with the 403 page's general words.
@permission_needed("outreach.view_household", refusal="")
def household_list(request):
    households, form = _searched(request)
    households = households.annotate(
        visit_count=Count("visits"), last_visit=Max("visits__visited_on")
    )
    page = Paginator(households, 50).get_page(request.GET.get("page"))
    # The path only: a search's text (often a name or an address) stays out of the log.
    audit_access(by=request.user, action=AuditEntry.Action.VIEWED, subject=request.path)
    return render(
        request,
        "outreach/households/list.html",
        {"form": form, "page": page},
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
    path("households/merge/", household_merge, name="household_merge"),
]
