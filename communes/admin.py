from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX

from core.text import fold

from .models import Commune, District, Hamlet, Province, code_typed
from .resources import CommuneResource, DistrictResource, HamletResource, ProvinceResource
from .services import commune_save


class FoldedSearchMixin:
    """Search by code, or by name ignoring diacritics and case ("tran te xuong")."""

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        code = code_typed(term)
        if code is not None and hasattr(self.model, "code"):
            by_code = queryset.filter(code=code)
            if by_code.exists():
                return by_code, False
        return queryset.filter(name_folded__contains=fold(term)), False


class UnitAdmin(FoldedSearchMixin, ImportExportModelAdmin):
    # The two shapes provinces keep their lists in.
    formats = [CSV, XLSX]
    search_fields = ("name",)  # shows the search box; the search itself is folded


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


@admin.register(Commune)
class CommuneAdmin(UnitAdmin):
    resource_classes = [CommuneResource]
    list_display = (
        "code",
        "name",
        "kind",
        "district",
        "population",
        "households",
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

    def save_model(self, request, obj, form, change):
        entered = any(field in form.changed_data for field in Commune.FIGURE_FIELDS)
        commune_save(commune=obj, figures_entered=entered)


@admin.register(Hamlet)
class HamletAdmin(UnitAdmin):
    resource_classes = [HamletResource]
    list_display = ("name", "commune", "is_active", "is_demo")
    list_filter = ("is_active", "is_demo", "commune__district")
    list_select_related = ("commune",)
    autocomplete_fields = ("commune",)
