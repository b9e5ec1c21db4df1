"""A personal data officer erases a household's or a former member's personal data."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import get_for_user
from accounts.decorators import permission_needed

from ..selectors import households_visible, members_visible
from ..services import household_erase, member_erase
from ..services.privacy import ERASE_PERMISSION, ERASE_REFUSAL


def _confirm(request, *, record, kept: str, back_url: str, error: str = "") -> HttpResponse:
    return render(
        request,
        "outreach/erase_confirm.html",
        {"record": record, "kept": kept, "back_url": back_url, "error": error},
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
# Before the record is looked up: no one else learns whether it exists.
@permission_needed(ERASE_PERMISSION, refusal=ERASE_REFUSAL)
def household_erase_page(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_for_user(request.user, households_visible, pk=pk)
    kept = _("Its hamlet, its visits and the readiness answers stay, so every figure stays.")
    if request.method == "POST":
        household_erase(by=request.user, household=household)
        messages.success(request, _("The household's personal data was erased."))
        return redirect("outreach:household_list")
    return _confirm(
        request, record=household, kept=kept, back_url=redirect("outreach:household_list").url
    )


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed(ERASE_PERMISSION, refusal=ERASE_REFUSAL)
def member_erase_page(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_for_user(request.user, members_visible, pk=pk)
    kept = _("Their team, their dates and the visits they went on stay, so every figure stays.")
    back_url = redirect("outreach:member_detail", pk=member.pk).url
    if request.method == "POST":
        try:
            member_erase(by=request.user, member=member)
        except ValidationError as refusal:
            return _confirm(
                request, record=member, kept=kept, back_url=back_url, error=refusal.messages[0]
            )
        messages.success(request, _("The member's personal data was erased."))
        return redirect("outreach:member_detail", pk=member.pk)
    return _confirm(request, record=member, kept=kept, back_url=back_url)


urlpatterns = [
    path("households/<int:pk>/erase/", household_erase_page, name="household_erase"),
    path("members/<int:pk>/erase/", member_erase_page, name="member_erase"),
]
