"""Admin views of the province's records, read-only: targets and indicators are kept on
their own pages (dashboard/records_views.py), through the services."""

from django.contrib import admin

from outreach.admin import ReadOnlyAdmin

from .models import ProvincialIndicator, Target


@admin.register(Target)
class TargetAdmin(ReadOnlyAdmin):
    list_display = ("year", "figure", "district", "commune", "value", "updated_by", "updated_at")
    list_filter = ("year", "figure", "district")
    list_select_related = ("district", "commune", "updated_by")
    search_fields = ("commune__name", "district__name")


@admin.register(ProvincialIndicator)
class ProvincialIndicatorAdmin(ReadOnlyAdmin):
    list_display = (
        "year",
        "dti_rank",
        "dti_government_rank",
        "dti_society_rank",
        "dti_economy_rank",
        "ecommerce_revenue_vnd",
        "enterprises_on_platforms",
        "is_demo",
        "updated_at",
    )
    list_filter = ("is_demo",)
    list_select_related = ("updated_by",)
