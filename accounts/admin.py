from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .forms import AdminUserCreationForm
from .models import User
from .services import user_role_sync, user_save


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = AdminUserCreationForm
    list_display = ("username", "full_name", "scope_level", "scope_unit", "is_active", "is_demo")
    list_filter = ("scope_level", "is_active", "is_staff", "is_superuser", "is_demo")
    search_fields = ("username", "full_name", "email")
    ordering = ("username",)
    list_select_related = ("scope_province", "scope_district", "scope_commune")
    autocomplete_fields = ("scope_district", "scope_commune")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("full_name", "email")}),
        (
            _("Scope"),
            {
                "fields": ("scope_level", "scope_province", "scope_district", "scope_commune"),
                "description": _(
                    "The role group follows the scope level: provincial staff, district "
                    "staff, commune officials or team leaders."
                ),
            },
        ),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "full_name", "password1", "password2"),
            },
        ),
    )

    @admin.display(description=_("unit"))
    def scope_unit(self, obj: User):
        return obj.scope_province or obj.scope_district or obj.scope_commune or "—"

    def save_model(self, request, obj, form, change):
        user_save(user=obj)

    def save_related(self, request, form, formsets, change):
        # The form's group choices are saved after the user; the role group follows
        # the scope, so it is put back in line afterwards.
        super().save_related(request, form, formsets, change)
        user_role_sync(user=form.instance)
