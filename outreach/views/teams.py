"""Pages where commune officials keep their hamlets, teams and members, and team leaders
keep their own team's roster.

Every object is loaded through a scoped selector (outside the scope: 404), every write
goes through a service (which checks permission and scope again), and the commune or
team a new object belongs to comes from the user's scope or the scoped URL, never from
a hidden field.

A page asks for the login first, then checks the HTTP method, then the role's permission
(`permission_needed`, innermost): a wrong method is a 405 whatever the role.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import get_for_user
from accounts.decorators import permission_needed
from accounts.models import AuditEntry, ScopeLevel, User
from accounts.scopes import Scope, scope_for
from accounts.services import audit_access
from communes.models import Commune, Hamlet, VietnameseOrder
from core.exports import export_links, export_response, xlsx_refusal
from core.forms import errors_to_form

from .. import exports, services
from ..filters import HamletFilter, MemberFilter, TeamFilter
from ..forms.teams import (
    HamletForm,
    MemberDeactivateForm,
    MemberForm,
    TeamDissolveForm,
    TeamForm,
)
from ..models import Member, Team
from ..selectors import (
    ROLE_ORDER,
    hamlets_listed,
    hamlets_visible,
    members_listed,
    members_visible,
    teams_listed,
    teams_visible,
)
from ..services.hamlets import hamlet_create as hamlet_create_service
from ..services.hamlets import hamlet_update as hamlet_update_service

PAGE_SIZE = 50

# The database reports a duplicate team name as a constraint of the whole row; the
# official has to change the name, so the message goes beside that field.
TEAM_NAME_TAKEN = next(
    c.violation_error_message
    for c in Team._meta.constraints
    if c.name == "team_name_unique_in_commune"
)

# Leader first, then deputies, then members: how a roster is read.

# --- Helpers -------------------------------------------------------------------------


VIEWED = AuditEntry.Action.VIEWED


# These pages tell a role without the permission so, rather than naming the roles that
# have it.
NOT_YOUR_ROLE = gettext_lazy("Your role does not allow this.")
COMMUNE_ONLY = gettext_lazy("Teams and hamlets are added by the officials of their commune.")


def _commune_level(scope: Scope) -> bool:
    """Only a commune-level scope names one commune for new teams and hamlets; anyone
    else (an administrator) uses the admin site or the import to add them elsewhere."""
    return scope.level == ScopeLevel.COMMUNE


def _own_commune(user: User) -> Commune:
    """The commune of a commune official (`_commune_level`): new teams and hamlets
    belong to it."""
    return Commune.objects.select_related("district").get(pk=user.scope_commune_id)


def _commune_filter_choices(user: User) -> QuerySet[Commune] | None:
    """The communes to filter by, or None for a user who works in a single commune."""
    scope = scope_for(user)
    if scope.level in (ScopeLevel.COMMUNE, ScopeLevel.TEAM) and len(scope.commune_ids) == 1:
        return None
    return scope.communes()


def _page(request: HttpRequest, queryset: QuerySet) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _post_data(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def _export(
    request: HttpRequest,
    fmt: str,
    queryset: QuerySet,
    name: str,
    header,
    rows,
    title,
    *,
    personal: bool,
):
    """The download of a list's rows (`rows(queryset)`), or, for an XLSX longer than a
    sheet, the page that offers the CSV instead. A file of `personal` data is recorded
    in the audit trail."""
    if fmt == "xlsx" and (refusal := xlsx_refusal(request, queryset.count())):
        return refusal
    if personal:
        audit_access(by=request.user, action=AuditEntry.Action.EXPORTED, subject=request.path)
    return export_response(request, fmt, name, header(), rows(queryset), title)


# --- Teams ---------------------------------------------------------------------------


def _team_filter(request: HttpRequest) -> TeamFilter:
    """The team list's filter bar over the user's teams (the list's and its export's)."""
    user = request.user
    return TeamFilter(
        request.GET,
        teams_listed(user),
        communes=_commune_filter_choices(user),
        hamlets=hamlets_visible(user),
    )


@login_required
@require_GET
@permission_needed("outreach.view_team", refusal=NOT_YOUR_ROLE)
def team_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filters = _team_filter(request)
    page = _page(request, filters.qs)
    context = {
        "form": filters.form,
        "page_obj": page,
        "exports": export_links(request, "outreach:team_export", page.paginator.count),
        "show_commune": "commune" in filters.form.fields,
        "can_add": user.has_perm("outreach.add_team")
        and scope_for(user).level == ScopeLevel.COMMUNE,
    }
    return render(request, "outreach/teams/team_list.html", context)


@login_required
@require_GET
@permission_needed("outreach.view_team", refusal=NOT_YOUR_ROLE)
def team_export(request: HttpRequest, fmt: str) -> HttpResponse:
    teams = _team_filter(request).qs
    # Teams' exports carry their leaders' names and phone numbers.
    return _export(
        request,
        fmt,
        teams,
        "teams",
        exports.team_header,
        exports.team_rows,
        _("Teams"),
        personal=True,
    )


@login_required
@require_GET
@permission_needed("outreach.view_team", refusal=NOT_YOUR_ROLE)
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    team = get_for_user(user, teams_visible, pk=pk)
    roster = (
        members_visible(user)
        .filter(team=team)
        .order_by(ROLE_ORDER, VietnameseOrder("full_name"), "pk")
    )
    roster = list(roster)
    context = {
        "team": team,
        "active_members": [m for m in roster if m.is_active],
        "former_members": [m for m in roster if not m.is_active],
        "can_change_team": user.has_perm("outreach.change_team"),
        "can_add_member": user.has_perm("outreach.add_member") and team.is_active,
        "can_change_member": user.has_perm("outreach.change_member"),
    }
    return render(request, "outreach/teams/team_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed(
    "outreach.add_team",
    refusal=NOT_YOUR_ROLE,
    where=_commune_level,
    where_refusal=COMMUNE_ONLY,
)
def team_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    commune = _own_commune(user)
    hamlets = hamlets_visible(user).filter(commune=commune, is_active=True)
    form = TeamForm(
        _post_data(request), hamlets=hamlets, initial={"formed_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(by=user, commune=commune, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error, messages_for_field={TEAM_NAME_TAKEN: "name"}, model=Team)
        else:
            messages.success(request, _("Team “%(name)s” added.") % {"name": team.name})
            return redirect("outreach:team_detail", pk=team.pk)
    context = {"form": form, "commune": commune, "team": None}
    return render(request, "outreach/teams/team_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed("outreach.change_team", refusal=NOT_YOUR_ROLE)
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    team = get_for_user(user, teams_visible, pk=pk)
    # The team's own hamlet stays a choice even after the hamlet was deactivated.
    hamlets = hamlets_visible(user).filter(
        Q(is_active=True) | Q(pk=team.hamlet_id), commune_id=team.commune_id
    )
    initial = {"name": team.name, "hamlet": team.hamlet_id, "formed_on": team.formed_on}
    form = TeamForm(_post_data(request), hamlets=hamlets, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(by=user, team=team, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error, messages_for_field={TEAM_NAME_TAKEN: "name"}, model=Team)
        else:
            messages.success(request, _("Team saved."))
            return redirect("outreach:team_detail", pk=team.pk)
    context = {"form": form, "commune": team.commune, "team": team}
    return render(request, "outreach/teams/team_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed("outreach.change_team", refusal=NOT_YOUR_ROLE)
def team_dissolve(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for the date and what becomes of the members (a confirmation page); POST
    dissolves the team."""
    user = request.user
    # With its active members counted and its leader named, for the page.
    team = get_for_user(user, lambda user: teams_listed(user).active(), pk=pk)
    teams = teams_visible(user).active().filter(commune_id=team.commune_id).exclude(pk=team.pk)
    form = TeamDissolveForm(
        _post_data(request),
        teams=teams,
        has_members=team.active_member_count > 0,
        initial={"dissolved_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.team_dissolve(
                by=user,
                team=team,
                dissolved_on=form.cleaned_data["dissolved_on"],
                members_to=form.cleaned_data.get("members_to"),
            )
        except ValidationError as error:
            errors_to_form(form, error, fallback_field="dissolved_on")
        else:
            messages.success(request, _("Team “%(name)s” dissolved.") % {"name": team.name})
            return redirect("outreach:team_detail", pk=team.pk)
    return render(request, "outreach/teams/team_dissolve.html", {"form": form, "team": team})


# --- Members -------------------------------------------------------------------------


def _member_filter(request: HttpRequest) -> MemberFilter:
    """The member list's filter bar over the user's members (the list's and its
    export's)."""
    user = request.user
    return MemberFilter(
        request.GET,
        members_listed(user),
        communes=_commune_filter_choices(user),
        teams=teams_visible(user),
    )


@login_required
@require_GET
@permission_needed("outreach.view_member", refusal=NOT_YOUR_ROLE)
def member_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filters = _member_filter(request)
    audit_access(by=user, action=VIEWED, subject=request.path)
    page = _page(request, filters.qs)
    context = {
        "form": filters.form,
        "page_obj": page,
        "exports": export_links(request, "outreach:member_export", page.paginator.count),
        "show_commune": "commune" in filters.form.fields,
        "chosen_team": filters.applied.get("team"),
    }
    return render(request, "outreach/teams/member_list.html", context)


@login_required
@require_GET
@permission_needed("outreach.view_member", refusal=NOT_YOUR_ROLE)
def member_export(request: HttpRequest, fmt: str) -> HttpResponse:
    members = _member_filter(request).qs
    return _export(
        request,
        fmt,
        members,
        "members",
        exports.member_header,
        exports.member_rows,
        _("Members"),
        personal=True,
    )


@login_required
@require_GET
@permission_needed("outreach.view_member", refusal=NOT_YOUR_ROLE)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = get_for_user(user, members_visible, pk=pk)
    audit_access(by=user, action=VIEWED, obj=member, commune_id=member.team.commune_id)
    manages_logins = user.has_perm("outreach.change_team")
    is_active_leader = member.is_active and member.role == Member.Role.LEADER
    context = {
        "member": member,
        "can_change": user.has_perm("outreach.change_member"),
        "can_create_login": manages_logins
        and is_active_leader
        and bool(member.phone)
        and member.user_id is None,
        "can_reset_password": manages_logins and member.user_id is not None,
    }
    return render(request, "outreach/teams/member_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed("outreach.add_member", refusal=NOT_YOUR_ROLE)
def member_create(request: HttpRequest, team_id: int) -> HttpResponse:
    user = request.user
    # A leader's scope holds only their own team: another team's URL is not found.
    team = get_for_user(user, lambda user: teams_visible(user).active(), pk=team_id)
    initial = {"joined_on": timezone.localdate(), "role": Member.Role.MEMBER}
    form = MemberForm(_post_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_create(by=user, team=team, **form.member_fields())
        except ValidationError as error:
            errors_to_form(form, error, model=Member)
        else:
            messages.success(request, _("%(name)s added to the team.") % {"name": member})
            return redirect("outreach:team_detail", pk=team.pk)
    context = {"form": form, "team": team, "member": None}
    return render(request, "outreach/teams/member_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed("outreach.change_member", refusal=NOT_YOUR_ROLE)
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = get_for_user(user, members_visible, pk=pk)
    if scope_for(user).level == ScopeLevel.TEAM:
        # Team leaders keep their own roster; moving people between teams is the commune's.
        teams = None
    else:
        teams = teams_visible(user).filter(
            Q(dissolved_on__isnull=True) | Q(pk=member.team_id), commune_id=member.team.commune_id
        )
    initial = {name: getattr(member, name) for name in MemberForm.base_fields}
    initial["team"] = member.team_id
    form = MemberForm(_post_data(request), initial=initial, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_update(
                by=user, member=member, team=form.cleaned_data.get("team"), **form.member_fields()
            )
        except ValidationError as error:
            errors_to_form(form, error, model=Member)
        else:
            messages.success(request, _("Member saved."))
            return redirect("outreach:member_detail", pk=member.pk)
    context = {"form": form, "team": member.team, "member": member}
    return render(request, "outreach/teams/member_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed("outreach.change_member", refusal=NOT_YOUR_ROLE)
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for the day they left (a confirmation page); POST records it."""
    user = request.user
    member = get_for_user(user, members_visible, pk=pk, is_active=True)
    form = MemberDeactivateForm(_post_data(request), initial={"left_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.member_deactivate(by=user, member=member, left_on=form.cleaned_data["left_on"])
        except ValidationError as error:
            errors_to_form(form, error, fallback_field="left_on", model=Member)
        else:
            messages.success(request, _("%(name)s has left the team.") % {"name": member})
            return redirect("outreach:team_detail", pk=member.team_id)
    return render(
        request, "outreach/teams/member_deactivate.html", {"form": form, "member": member}
    )


def _password_page(request: HttpRequest, member: Member, login: str, password: str, *, new: bool):
    """The one time a password is shown: rendered into this response, stored nowhere."""
    context = {"member": member, "login_name": login, "password": password, "new_login": new}
    response = render(request, "outreach/teams/member_password.html", context)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_POST
@permission_needed("outreach.change_team", refusal=NOT_YOUR_ROLE)
def member_login_create(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = get_for_user(user, members_visible, pk=pk)
    try:
        login_user, password = services.member_login_create(by=user, member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("outreach:member_detail", pk=member.pk)
    return _password_page(request, member, login_user.username, password, new=True)


@never_cache
@login_required
@require_POST
@permission_needed("outreach.change_team", refusal=NOT_YOUR_ROLE)
def member_login_reset(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = get_for_user(user, members_visible, pk=pk)
    try:
        password = services.member_login_password_reset(by=user, member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("outreach:member_detail", pk=member.pk)
    return _password_page(request, member, member.user.username, password, new=False)


# --- Hamlets -------------------------------------------------------------------------


def _hamlet_filter(request: HttpRequest) -> HamletFilter:
    """The hamlet list's filter bar over the user's hamlets (the list's and its
    export's)."""
    user = request.user
    return HamletFilter(request.GET, hamlets_listed(user), communes=_commune_filter_choices(user))


@login_required
@require_GET
@permission_needed("communes.view_hamlet", refusal=NOT_YOUR_ROLE)
def hamlet_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filters = _hamlet_filter(request)
    page = _page(request, filters.qs)
    context = {
        "form": filters.form,
        "page_obj": page,
        "exports": export_links(request, "outreach:hamlet_export", page.paginator.count),
        "show_commune": "commune" in filters.form.fields,
        "can_add": user.has_perm("communes.add_hamlet")
        and scope_for(user).level == ScopeLevel.COMMUNE,
        "can_change": user.has_perm("communes.change_hamlet"),
    }
    return render(request, "outreach/teams/hamlet_list.html", context)


@login_required
@require_GET
@permission_needed("communes.view_hamlet", refusal=NOT_YOUR_ROLE)
def hamlet_export(request: HttpRequest, fmt: str) -> HttpResponse:
    hamlets = _hamlet_filter(request).qs
    return _export(
        request,
        fmt,
        hamlets,
        "hamlets",
        exports.hamlet_header,
        exports.hamlet_rows,
        _("Hamlets"),
        personal=False,
    )


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed(
    "communes.add_hamlet",
    refusal=NOT_YOUR_ROLE,
    where=_commune_level,
    where_refusal=COMMUNE_ONLY,
)
def hamlet_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    commune = _own_commune(user)
    form = HamletForm(_post_data(request), creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            hamlet = hamlet_create_service(by=user, commune=commune, name=form.cleaned_data["name"])
        except ValidationError as error:
            errors_to_form(form, error, model=Hamlet)
        else:
            messages.success(request, _("Hamlet “%(name)s” added.") % {"name": hamlet.name})
            return redirect("outreach:hamlet_list")
    context = {"form": form, "commune": commune, "hamlet": None}
    return render(request, "outreach/teams/hamlet_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@permission_needed("communes.change_hamlet", refusal=NOT_YOUR_ROLE)
def hamlet_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    hamlet: Hamlet = get_for_user(user, hamlets_visible, pk=pk)
    initial = {"name": hamlet.name, "is_active": hamlet.is_active}
    form = HamletForm(_post_data(request), initial=initial, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            hamlet_update_service(by=user, hamlet=hamlet, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error, model=Hamlet)
        else:
            messages.success(request, _("Hamlet saved."))
            return redirect("outreach:hamlet_list")
    context = {"form": form, "commune": hamlet.commune, "hamlet": hamlet}
    return render(request, "outreach/teams/hamlet_form.html", context)


urlpatterns = [
    path("teams/", team_list, name="team_list"),
    re_path(r"^teams/export\.(?P<fmt>csv|xlsx)$", team_export, name="team_export"),
    path("teams/new/", team_create, name="team_create"),
    path("teams/<int:pk>/", team_detail, name="team_detail"),
    path("teams/<int:pk>/edit/", team_edit, name="team_edit"),
    path("teams/<int:pk>/dissolve/", team_dissolve, name="team_dissolve"),
    path("teams/<int:team_id>/members/new/", member_create, name="member_create"),
    path("members/", member_list, name="member_list"),
    re_path(r"^members/export\.(?P<fmt>csv|xlsx)$", member_export, name="member_export"),
    path("members/<int:pk>/", member_detail, name="member_detail"),
    path("members/<int:pk>/edit/", member_edit, name="member_edit"),
    path("members/<int:pk>/deactivate/", member_deactivate, name="member_deactivate"),
    path("members/<int:pk>/login/", member_login_create, name="member_login_create"),
    path("members/<int:pk>/login/reset/", member_login_reset, name="member_login_reset"),
    path("hamlets/", hamlet_list, name="hamlet_list"),
    re_path(r"^hamlets/export\.(?P<fmt>csv|xlsx)$", hamlet_export, name="hamlet_export"),
    path("hamlets/new/", hamlet_create, name="hamlet_create"),
    path("hamlets/<int:pk>/edit/", hamlet_edit, name="hamlet_edit"),
]
