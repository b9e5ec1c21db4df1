"""Admins look at outreach data here; they change it in the portal's pages.

Every write to teams, members, households and visits goes through outreach.services
(which check scope and mark roll-up buckets), so these pages are read-only. The service
catalogue is reference data that admins keep here.
"""

from django.contrib import admin

from core.admin import ReadOnlyAdmin, TranslatedHistoryMixin

from .models import Household, Member, MemberImport, Service, Team, Visit


@admin.register(Service)
class ServiceAdmin(TranslatedHistoryMixin, admin.ModelAdmin):
    list_display = ("code", "name", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "commune", "hamlet", "formed_on", "dissolved_on", "is_demo")
    list_filter = ("commune__district", "is_demo")
    list_select_related = ("commune", "hamlet")
    search_fields = ("name", "commune__name")


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ("full_name", "team", "role", "phone", "is_active", "on_zalo_oa")
    list_filter = ("role", "is_active", "on_zalo_oa", "affiliation")
    list_select_related = ("team",)
    search_fields = ("full_name", "phone")


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("address_label", "hamlet", "commune", "created_at")
    list_select_related = ("hamlet", "commune")
    search_fields = ("address_label",)


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("visited_on", "team", "household", "residents_helped", "outcome")
    list_filter = ("outcome", "visited_on")
    list_select_related = ("team", "household")
    date_hierarchy = "visited_on"


@admin.register(MemberImport)
class MemberImportAdmin(ReadOnlyAdmin):
    # The file itself and unread passwords are not shown: they are personal data.
    list_display = ("file_name", "created_by", "status", "rows_total", "created_at")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    fields = ("file_name", "created_by", "status", "rows_done", "rows_total", "created_at")
