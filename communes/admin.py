from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from core.admin import TranslatedHistoryMixin
from core.admin_files import SpreadsheetAdmin
from core.fields import WholeNumberField
from core.text import fold

from .models import Commune, District, Hamlet, Province, code_typed
from .resources import CommuneResource, DistrictResource, HamletResource, ProvinceResource
from .services import commune_save


class FoldedSearchMixin:
    """Search by code, or by name ignoring diacritics and case ("tran te xuong"), the
    unit's own or its parent's ("giao thuy" finds Huyện Giao Thủy's communes)."""

    folded_search_fields = ("name_folded",)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        code = code_typed(term)
        if code is not None and hasattr(self.model, "code"):
            by_code = queryset.filter(code=code)
            if by_code.exists():
                return by_code, False
        folded = fold(term)
        query = Q()
        for path in self.folded_search_fields:
            query |= Q(**{f"{path}__contains": folded})
        return queryset.filter(query), False


class UnitAdmin(FoldedSearchMixin, TranslatedHistoryMixin, SpreadsheetAdmin):
    # CSV or XLSX: the two shapes provinces keep their lists in.
    search_fields = ("name",)  # shows the search box; the search itself is folded

    class Media:
        css = {"all": ["css/admin-units.css"]}


def grouped(value: int | None) -> str | None:
    """A figure with its thousands grouped as the reader writes them (16.003 in
    Vietnamese), which the admin's lists do not do (USE_THOUSAND_SEPARATOR is off, so
    that codes stay ungrouped). None shows as the admin's empty value."""
    return None if value is None else formats.number_format(value, force_grouping=True)


@admin.register(Province)
class ProvinceAdmin(UnitAdmin):
    resource_classes = [ProvinceResource]
    list_display = ("code", "name")


@admin.register(District)
class DistrictAdmin(UnitAdmin):
    resource_classes = [DistrictResource]
    list_display = ("code", "name", "kind", "province")
    list_filter = ("kind",)
    list_select_related = ("province",)


class HamletInline(admin.TabularInline):
    model = Hamlet
    fields = ("name", "is_active", "is_demo")
    readonly_fields = ("is_demo",)
    extra = 1


class CommuneForm(forms.ModelForm):
    """The counts read as people type them: "16.003" is sixteen thousand and three in
    Vietnamese, which Django's own field would store as 16."""

    class Meta:
        model = Commune
        fields = ("code", "name", "kind", "district", *Commune.FIGURE_FIELDS)
        field_classes = dict.fromkeys(
            ("population", "working_age_population", "households", "enterprises"),
            WholeNumberField,
        )


@admin.register(Commune)
class CommuneAdmin(UnitAdmin):
    form = CommuneForm
    resource_classes = [CommuneResource]
    folded_search_fields = ("name_folded", "district__name_folded")
    # The kind is the name's first word ("Xã", "Phường"): a filter, not a column, so that
    # the list fits a 1366 px screen beside the filters.
    list_display = (
        "code",
        "name",
        "district",
        "population_grouped",
        "households_grouped",
        "new_rural_status",
        "figures_are_demo",
    )
    list_filter = ("district", "kind", "new_rural_status", "figures_are_demo")
    list_select_related = ("district",)
    readonly_fields = ("figures_are_demo",)
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "district")}),
        (
            _("Figures"),
            {"fields": (*Commune.FIGURE_FIELDS, "figures_are_demo")},
        ),
    )
    inlines = [HamletInline]

    @admin.display(description=_("population"), ordering="population")
    def population_grouped(self, commune: Commune) -> str | None:
        return grouped(commune.population)

    @admin.display(description=_("households"), ordering="households")
    def households_grouped(self, commune: Commune) -> str | None:
        return grouped(commune.households)

    def save_model(self, request, obj, form, change):
        entered = any(field in form.changed_data for field in Commune.FIGURE_FIELDS)
        commune_save(commune=obj, figures_entered=entered)


@admin.register(Hamlet)
class HamletAdmin(UnitAdmin):
    resource_classes = [HamletResource]
    folded_search_fields = ("name_folded", "commune__name_folded")
    list_display = ("name", "commune", "is_active", "is_demo")
    list_filter = ("is_active", "is_demo", "commune__district")
    list_select_related = ("commune",)
    autocomplete_fields = ("commune",)
