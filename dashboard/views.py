"""The dashboard pages: the province's overview, its communes, a district, a commune and
a team, and the exports of their tables.

Each page reads its figures through one selector, which checks the scope (outside it:
404) and caches the figures until the next roll-up. District staff see the province's
tiles on the overview and their district's page; commune officials and team leaders
land on their commune's or team's page. A user with no scope is refused (403).
"""

import hashlib
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.views.decorators.http import require_GET

from accounts.decorators import permission_needed
from accounts.models import ScopeLevel
from accounts.scopes import Scope, scope_for
from core.exports import export_response

from . import exports, selectors
from .forms import DashboardFilterForm
from .selectors import DistrictUnit, Figures, Period, Snapshot

# A login may exist before its scope is set: it sees nothing, and is told why.
NO_AREA = gettext_lazy(
    "Your login has no area to see yet: ask whoever gave you your login to set it."
)

# Every permission the cached part of a dashboard page asks (`perms.` in
# templates/dashboard/): they are part of the rendered tables' key. A test holds this
# list to the templates.
TABLES_PERMISSIONS = (
    "dashboard.view_target",
    "dashboard.view_provincialindicator",
    # The team page's links to the team's visits and to its own page.
    "outreach.view_visit",
    "outreach.view_team",
)


def _sees_something(scope: Scope) -> bool:
    return not scope.sees_nothing


def _page(
    request: HttpRequest,
    template: str,
    *,
    snap: Snapshot,
    form: DashboardFilterForm,
    period: Period,
    figures: Figures,
    level: dict[str, int] | None = None,
    **extra,
) -> HttpResponse:
    """Render a dashboard page; `level` is the place's parameter its exports carry.

    The page's content is cached rendered (templates' {% cached_tables %}) under its
    figures' key, so it follows the roll-up version; the HTML around it, with the menu
    and the CSRF token, is rendered every time.
    """
    late = snap.figures_late()
    context = {
        "tables_key": _tables_key(request, template, figures, late=late),
        "as_of": snap.last_run_at,
        "figures_late": late,
        "pending_since": snap.pending_since,
        "form": form,
        "period": period,
        # Links down keep the period; exports also name the place.
        "period_query": urlencode(period.query()),
        "export_query": urlencode({**period.query(), **(level or {})}),
        "figures": figures,
        **extra,
    }
    return render(request, template, context)


def _tables_key(request: HttpRequest, template: str, figures: Figures, *, late: bool) -> str:
    """The key of a page's rendered tables: what the HTML depends on, and nothing of
    the user but that. The template, the URL with its filters, the language, the scope
    (which tables and links a page shows) and the permissions the tables ask: users of
    the same scope and role share the entry, and no one is served another's."""
    user = request.user
    granted = "".join("1" if user.has_perm(name) else "0" for name in TABLES_PERMISSIONS)
    parts = [
        template,
        request.get_full_path(),
        get_language() or "",
        scope_for(user).cache_key,
        granted,
        # Late figures are said so inside the tables: a page rendered before they were
        # late must not be served once they are, when no run has renewed its key.
        "late" if late else "",
    ]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]
    return f"{figures.cache_key}:html:{digest}"


def _province_filters(
    request: HttpRequest, snap: Snapshot, province_id: int, *, wide: bool
) -> tuple[DashboardFilterForm, Period, DistrictUnit | None]:
    """The province's pages' filter bar: the period, and for those who see the
    province's tables a district (outside the scope: 404)."""
    districts = snap.units.districts_of(province_id)
    form = DashboardFilterForm(
        request.GET, today=timezone.localdate(), districts=districts if wide else None
    )
    code = form.chosen_district()
    district = selectors.district_in_scope(request.user, snap.units, code) if code else None
    return form, form.chosen_period(), district


@require_GET
@permission_needed(where=_sees_something, refusal=NO_AREA)
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    snap = selectors.snapshot()
    landing = selectors.landing_for(user, snap.units)
    if landing is not None:
        page, key = landing
        url = reverse(f"dashboard:{page}", args=[key])
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}" if query else url)
    province_id = selectors.province_for(user, snap.units)
    if province_id is None:
        raise Http404
    wide = selectors.sees_province(user)
    form, period, district = _province_filters(request, snap, province_id, wide=wide)
    figures = selectors.overview_figures(user, snap, period, district=district, tiles_only=not wide)
    scope = scope_for(user)
    districts = snap.units.districts_of(province_id)
    own_districts = [] if wide else [d for d in districts if d.id in scope.district_ids]
    return _page(
        request,
        "dashboard/overview.html",
        snap=snap,
        form=form,
        period=period,
        figures=figures,
        level={"district": district.code} if district else None,
        district=district,
        wide=wide,
        own_districts=own_districts,
    )


@require_GET
@permission_needed(where=_sees_something, refusal=NO_AREA)
def communes(request: HttpRequest) -> HttpResponse:
    """Every commune of the province, or of the district chosen, ranked by coverage with
    all its figures: the table whose ends the overview shows. For those who see the
    province's tables; anyone else is not shown it (404)."""
    user = request.user
    snap = selectors.snapshot()
    province_id = selectors.province_for(user, snap.units)
    if province_id is None or not selectors.sees_province(user):
        raise Http404
    form, period, district = _province_filters(request, snap, province_id, wide=True)
    return _page(
        request,
        "dashboard/communes.html",
        snap=snap,
        form=form,
        period=period,
        figures=selectors.overview_figures(user, snap, period, district=district),
        level={"district": district.code} if district else None,
        district=district,
    )


@require_GET
@permission_needed(where=_sees_something, refusal=NO_AREA)
def district(request: HttpRequest, code: int) -> HttpResponse:
    user = request.user
    snap = selectors.snapshot()
    place = selectors.district_in_scope(user, snap.units, code)
    form = DashboardFilterForm(request.GET, today=timezone.localdate())
    period = form.chosen_period()
    return _page(
        request,
        "dashboard/district.html",
        snap=snap,
        form=form,
        period=period,
        figures=selectors.district_figures(user, snap, place, period),
        level={"district": place.code},
        district=place,
    )


@require_GET
@permission_needed(where=_sees_something, refusal=NO_AREA)
def commune(request: HttpRequest, code: int) -> HttpResponse:
    user = request.user
    snap = selectors.snapshot()
    place = selectors.commune_in_scope(user, snap.units, code)
    form = DashboardFilterForm(request.GET, today=timezone.localdate())
    period = form.chosen_period()
    scope = scope_for(user)
    return _page(
        request,
        "dashboard/commune.html",
        snap=snap,
        form=form,
        period=period,
        figures=selectors.commune_figures(user, snap, place, period),
        level={"commune": place.code},
        commune=place,
        district=snap.units.district_by_id[place.district_id],
        # The way up, for those who may take it.
        sees_district=selectors.sees_province(user) or scope.level == ScopeLevel.DISTRICT,
    )


@require_GET
@permission_needed(where=_sees_something, refusal=NO_AREA)
def team(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    snap = selectors.snapshot()
    place = selectors.team_in_scope(user, snap.units, pk)
    form = DashboardFilterForm(request.GET, today=timezone.localdate())
    period = form.chosen_period()
    return _page(
        request,
        "dashboard/team.html",
        snap=snap,
        form=form,
        period=period,
        figures=selectors.team_figures(user, snap, place, period),
        team=place,
        sees_commune=scope_for(user).level != ScopeLevel.TEAM,
    )


def _code(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        raise Http404 from None


@require_GET
@permission_needed(where=_sees_something, refusal=NO_AREA)
def export(request: HttpRequest, table: str, fmt: str) -> HttpResponse:
    """A table of a page as CSV or XLSX, for the same place and period as the page.

    The place is ?commune=<code> or ?district=<code>, else the province; a table the
    place's page does not show, or a place outside the scope, is not found.
    """
    if fmt not in exports.FORMATS or table not in exports.TABLES:
        raise Http404
    user = request.user
    snap = selectors.snapshot()
    period = DashboardFilterForm(request.GET, today=timezone.localdate()).chosen_period()
    commune_code = _code(request.GET.get("commune"))
    district_code = _code(request.GET.get("district"))
    if commune_code is not None:
        place = selectors.commune_in_scope(user, snap.units, commune_code)
        level, name = exports.COMMUNE, str(place.code)
    elif district_code is not None:
        place = selectors.district_in_scope(user, snap.units, district_code)
        level, name = exports.DISTRICT, str(place.code)
    else:
        place, level, name = None, exports.PROVINCE, "province"
    wide = selectors.sees_province(user)
    # The overview narrowed to a district still lists every district.
    districts_of_overview = table == "districts" and level == exports.DISTRICT and wide
    if not (exports.shown_on(table, level) or districts_of_overview):
        raise Http404
    if level == exports.COMMUNE:
        figures = selectors.commune_figures(user, snap, place, period)
    elif districts_of_overview:
        figures = selectors.overview_figures(user, snap, period, district=place)
    elif level == exports.DISTRICT:
        figures = selectors.district_figures(user, snap, place, period)
    elif wide:
        figures = selectors.overview_figures(user, snap, period)
    else:
        # District staff see the province's tiles, not its tables.
        raise Http404
    header, rows, title = exports.table(table, figures)
    filename = f"dashboard-{table}-{name}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    return export_response(request, fmt, filename, header, rows, title)
