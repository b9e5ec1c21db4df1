"""Pages where provincial staff keep the year's targets and the provincial indicators,
and the monthly district report.

URLs (namespace "dashboard", under /dashboard/):
- targets/                                       target_list    a year's targets
- targets/new/                                   target_create
- targets/<pk>/edit/                             target_edit
- targets/<pk>/delete/                           target_delete  asks, then POST deletes
- targets/split/                                 target_split   to districts or communes
- indicators/                                    indicator_list with their history
- indicators/new/                                indicator_create
- indicators/<year>/edit/                        indicator_edit
- district/<code>/report/<year>-<month>.xlsx      report_district_month

Targets and indicators are the province's: other roles get 403. The report is for
provincial staff (any district) and district staff (their own); for anyone else the
district is not found.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import get_for_user
from accounts.decorators import permission_needed
from accounts.models import ScopeLevel, User
from accounts.scopes import scope_for
from communes.models import Commune, District
from core.exports import XLSX_CONTENT_TYPE
from core.forms import errors_to_form

from . import services
from .models import Figure, ProvincialIndicator, Target
from .records_forms import (
    YEARS,
    IndicatorForm,
    SplitChoiceForm,
    SplitForm,
    TargetForm,
    billions,
)
from .reports import district_month, district_month_workbook
from .targets import BUILTIN_TARGETS, targets_by_place, targets_for

PAGE_SIZE = 100


def _year(value: str | None) -> int:
    try:
        year = int(value or "")
    except ValueError:
        return timezone.localdate().year
    return year if YEARS[0] <= year <= YEARS[1] else timezone.localdate().year


def _list_url(year: int, figure: str = "") -> str:
    query = {"year": year, **({"figure": figure} if figure else {})}
    return f"{reverse('dashboard:target_list')}?{urlencode(query)}"


# --- Targets -----------------------------------------------------------------------------


_FIGURE_ORDER = Case(
    *(When(figure=value, then=Value(index)) for index, value in enumerate(Figure.values)),
    output_field=IntegerField(),
)


@require_GET
@permission_needed(
    "dashboard.view_target", where=services.is_provincial, refusal=services.PROVINCIAL_ONLY
)
def target_list(request: HttpRequest) -> HttpResponse:
    year = _year(request.GET.get("year"))
    figure = request.GET.get("figure", "")
    if figure not in Figure.values:
        figure = ""
    targets = (
        Target.objects.filter(year=year)
        .select_related("district", "commune__district")
        # The province first, then the districts, then the communes, in official order.
        .order_by(
            _FIGURE_ORDER,
            F("commune__code").asc(nulls_first=True),
            F("district__code").asc(nulls_first=True),
        )
    )
    if figure:
        targets = targets.filter(figure=figure)
    entered = set(
        Target.objects.filter(year=year, district=None, commune=None).values_list(
            "figure", flat=True
        )
    )
    # The campaign's targets the province counts against until the year has its own.
    builtin = [
        (Figure(code), value)
        for code, value in BUILTIN_TARGETS.items()
        if code not in entered and (not figure or code == figure)
    ]
    context = {
        "year": year,
        "figure": figure,
        "figures": Figure.choices,
        "page": Paginator(targets, PAGE_SIZE).get_page(request.GET.get("page")),
        "builtin": builtin,
        "previous_year": year - 1,
        "next_year": year + 1,
        "can_add": request.user.has_perm("dashboard.add_target"),
        "can_change": request.user.has_perm("dashboard.change_target"),
        "can_delete": request.user.has_perm("dashboard.delete_target"),
    }
    return render(request, "dashboard/targets/list.html", context)


def _target_form_page(request, form: TargetForm, *, target: Target | None = None):
    return render(request, "dashboard/targets/form.html", {"form": form, "target": target})


def _target_save(request, form: TargetForm, target: Target | None = None):
    """Store the form through the service; the page again, with its errors, if refused."""
    if form.is_valid():
        try:
            saved = services.target_save(by=request.user, target=target, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error, model=Target)
        else:
            messages.success(request, _("Target saved."))
            return redirect(_list_url(saved.year, saved.figure))
    return _target_form_page(request, form, target=target)


def _id_param(request: HttpRequest, name: str, model):
    try:
        return model.objects.filter(pk=int(request.GET.get(name) or "")).first()
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
@permission_needed(
    "dashboard.add_target", where=services.is_provincial, refusal=services.PROVINCIAL_ONLY
)
def target_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _target_save(request, TargetForm(request.POST))
    figure = request.GET.get("figure")
    initial = {
        "year": _year(request.GET.get("year")),
        "figure": figure if figure in Figure.values else None,
        "district": _id_param(request, "district", District),
        "commune": _id_param(request, "commune", Commune),
    }
    return _target_form_page(request, TargetForm(initial=initial))


def _target_or_404(pk: int) -> Target:
    return get_object_or_404(Target.objects.select_related("district", "commune__district"), pk=pk)


@require_http_methods(["GET", "POST"])
@permission_needed(
    "dashboard.change_target", where=services.is_provincial, refusal=services.PROVINCIAL_ONLY
)
def target_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target_or_404(pk)
    if request.method == "POST":
        return _target_save(request, TargetForm(request.POST), target)
    initial = {
        "year": target.year,
        "figure": target.figure,
        "district": target.district,
        "commune": target.commune,
        "value": target.value,
    }
    return _target_form_page(request, TargetForm(initial=initial), target=target)


@require_http_methods(["GET", "POST"])
@permission_needed(
    "dashboard.delete_target", where=services.is_provincial, refusal=services.PROVINCIAL_ONLY
)
def target_delete(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target_or_404(pk)
    if request.method == "POST":
        services.target_delete(by=request.user, target=target)
        messages.success(request, _("Target deleted."))
        return redirect(_list_url(target.year, target.figure))
    return render(request, "dashboard/targets/delete.html", {"target": target})


@require_http_methods(["GET", "POST"])
@permission_needed(
    "dashboard.add_target",
    "dashboard.change_target",
    where=services.is_provincial,
    refusal=services.PROVINCIAL_ONLY,
)
def target_split(request: HttpRequest) -> HttpResponse:
    """Choose a year's figure and where to split it (GET), then one number a place."""
    choice = SplitChoiceForm(
        request.GET or None,
        initial={"year": timezone.localdate().year, "figure": Figure.HOUSEHOLDS_REACHED},
    )
    context = {"choice": choice, "form": None}
    if not choice.is_valid():
        return render(request, "dashboard/targets/split.html", context)
    year, figure = choice.cleaned_data["year"], choice.cleaned_data["figure"]
    district = choice.cleaned_data["district"]
    if district is None:
        level, places = "district", list(District.objects.order_by("code"))
        parent = targets_for(year).get(figure)
    else:
        level = "commune"
        places = list(Commune.objects.filter(district=district).order_by("code"))
        parent = targets_for(year, district_id=district.pk).get(figure)
    current = targets_by_place(year, figure, level)
    form = SplitForm(request.POST or None, places=places, initial_values=current)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.targets_split(
                by=request.user, year=year, figure=figure, level=level, values=form.values()
            )
        except ValidationError as error:
            errors_to_form(form, error, model=Target)
        else:
            saved = ngettext(
                "Target saved for %(count)s place.",
                "Targets saved for %(count)s places.",
                result.saved,
            ) % {"count": result.saved}
            messages.success(request, saved)
            if result.warning:
                messages.warning(request, result.warning)
            return redirect(_list_url(year, figure))
    context.update(
        form=form,
        year=year,
        figure_label=Figure(figure).label,
        district=district,
        parent=parent,
        current_total=sum(current.get(place.pk, 0) for place in places),
    )
    return render(request, "dashboard/targets/split.html", context)


# --- Provincial indicators ---------------------------------------------------------------


RANK_FIELDS = ("dti_rank", "dti_government_rank", "dti_society_rank", "dti_economy_rank")
COUNT_FIELDS = (
    "ecommerce_revenue_vnd",
    "platform_shops",
    "platform_products",
    "enterprises_on_platforms",
    "enterprises_econtract",
)


@dataclass(frozen=True)
class IndicatorCell:
    year: int
    value: object
    # Against the year before, when both years have a value; for a rank, places gained.
    change: object = None

    @property
    def size(self):
        """The change without its sign, for "up 3 places" and "down 2 places"."""
        return abs(self.change) if self.change is not None else None


@dataclass(frozen=True)
class IndicatorRow:
    label: str
    is_rank: bool
    cells: list[IndicatorCell]


def indicator_history(indicators: list[ProvincialIndicator]) -> list[IndicatorRow]:
    """Each indicator across the years (as given, newest first), with its change against
    the year before."""
    by_year = {indicator.year: indicator for indicator in indicators}
    rows = []
    for name in (*RANK_FIELDS, *COUNT_FIELDS):
        is_rank = name in RANK_FIELDS
        cells = []
        for indicator in indicators:
            value = getattr(indicator, name)
            before = by_year.get(indicator.year - 1)
            previous = getattr(before, name) if before else None
            change = None
            if value is not None and previous is not None:
                # A rank improves as its number falls: 11th to 8th is 3 places gained.
                change = previous - value if is_rank else value - previous
            if name == "ecommerce_revenue_vnd":
                value = billions(value) if value is not None else None
                change = billions(change) if change is not None else None
            cells.append(IndicatorCell(indicator.year, value, change))
        label = ProvincialIndicator._meta.get_field(name).verbose_name
        if name == "ecommerce_revenue_vnd":
            label = _("E-commerce revenue (billion VND)")
        rows.append(IndicatorRow(str(label), is_rank, cells))
    return rows


@require_GET
@permission_needed(
    "dashboard.view_provincialindicator",
    where=services.is_provincial,
    refusal=services.PROVINCIAL_ONLY,
)
def indicator_list(request: HttpRequest) -> HttpResponse:
    indicators = list(ProvincialIndicator.objects.order_by("-year"))
    context = {
        "indicators": indicators,
        "rows": indicator_history(indicators),
        "can_add": request.user.has_perm("dashboard.add_provincialindicator"),
        "can_change": request.user.has_perm("dashboard.change_provincialindicator"),
    }
    return render(request, "dashboard/indicators/list.html", context)


def _indicator_save(request, form: IndicatorForm, year: int | None):
    if form.is_valid():
        year = year or form.cleaned_data["year"]
        try:
            services.indicator_save(by=request.user, year=year, **form.indicator_fields())
        except ValidationError as error:
            errors_to_form(form, error, model=ProvincialIndicator)
        else:
            messages.success(request, _("Indicators for %(year)s saved.") % {"year": year})
            return redirect("dashboard:indicator_list")
    return render(request, "dashboard/indicators/form.html", {"form": form, "year": year})


@require_http_methods(["GET", "POST"])
@permission_needed(
    "dashboard.add_provincialindicator",
    where=services.is_provincial,
    refusal=services.PROVINCIAL_ONLY,
)
def indicator_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = IndicatorForm(initial={"year": timezone.localdate().year})
        return render(request, "dashboard/indicators/form.html", {"form": form, "year": None})
    form = IndicatorForm(request.POST)
    if form.is_valid():
        year = form.cleaned_data["year"]
        if ProvincialIndicator.objects.filter(year=year).exists():
            form.add_error(
                "year",
                _("The indicators of %(year)s are already entered: edit them instead.")
                % {"year": year},
            )
    return _indicator_save(request, form, None)


@require_http_methods(["GET", "POST"])
@permission_needed(
    "dashboard.change_provincialindicator",
    where=services.is_provincial,
    refusal=services.PROVINCIAL_ONLY,
)
def indicator_edit(request: HttpRequest, year: int) -> HttpResponse:
    indicator = get_object_or_404(ProvincialIndicator, year=year)
    form = IndicatorForm(request.POST or None, indicator=indicator)
    if request.method == "GET":
        return render(request, "dashboard/indicators/form.html", {"form": form, "year": year})
    return _indicator_save(request, form, year)


# --- The monthly district report ---------------------------------------------------------


def _districts_reported(user: User) -> QuerySet[District]:
    """Provincial staff report on any district, district staff on their own."""
    scope = scope_for(user)
    if scope.sees_everything or scope.level in (ScopeLevel.PROVINCE, ScopeLevel.DISTRICT):
        return scope.districts()
    return District.objects.none()


@require_GET
@login_required
def report_district_month(request: HttpRequest, code: int, year: int, month: int) -> HttpResponse:
    if not (1 <= month <= 12 and YEARS[0] <= year <= YEARS[1]):
        raise Http404
    district = get_for_user(request.user, _districts_reported, code=code)
    report = district_month(district, year, month)
    content = district_month_workbook(report, today=timezone.localdate())
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    filename = f"report-{district.code}-{year}-{month:02d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
