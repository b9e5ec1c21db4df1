"""Admin views of trainings, read-only like outreach: writes go through the services."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin, TranslatedHistoryMixin

from .models import Attendance, CourseEnrolment, CourseImport, Headcount, Topic, TrainingSession


@admin.register(Topic)
class TopicAdmin(TranslatedHistoryMixin, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "sort_order")
    list_filter = ("kind",)


class AttendanceInline(admin.TabularInline):
    model = Attendance
    fields = ("full_name", "agency", "position", "phone", "member")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TrainingSession)
class TrainingSessionAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "format",
        "audience",
        "level",
        "district",
        "commune",
        "starts_on",
        "status",
    )
    list_filter = ("status", "format", "audience", "level", "district", "topics")
    list_select_related = ("district", "commune")
    search_fields = ("title",)
    date_hierarchy = "starts_on"
    inlines = [AttendanceInline]


@admin.register(Headcount)
class HeadcountAdmin(ReadOnlyAdmin):
    list_display = ("session", "total", "women", "working_age", "priority_groups")
    list_select_related = ("session",)


@admin.register(CourseEnrolment)
class CourseEnrolmentAdmin(ReadOnlyAdmin):
    list_display = ("full_name", "course", "agency", "commune", "district", "completed_on")
    list_filter = ("course", "audience", "district")
    list_select_related = ("commune", "district")
    search_fields = ("full_name", "agency", "email", "phone")


@admin.register(CourseImport)
class CourseImportAdmin(ReadOnlyAdmin):
    # The file itself is not shown: it holds learners' personal data.
    list_display = ("file_name", "created_by", "status", "rows_total", "created_at")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    fields = ("file_name", "created_by", "status", "rows_done", "rows_total", "created_at")
