from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, Permission
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import TranslatedHistoryMixin

from .forms import AdminPasswordChangeForm, AdminUserCreationForm
from .models import User
from .services import user_role_sync, user_save

# The names Django gives the permissions of each model, stored in English when its table
# is created ("Can add commune"): shown again in the reader's language.
MODEL_PERMISSIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """A permission as a role's or a user's page lists it: app | model | what it allows."""
    model = permission.content_type.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is not None and model_name == model._meta.model_name and action in MODEL_PERMISSIONS:
        name = MODEL_PERMISSIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)
    return f"{permission.content_type} | {name}"


class PermissionsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Permission) -> str:
        return permission_label(obj)


class PermissionsInReaderLanguageMixin:
    """The permissions offered by names in the reader's language, and the delete
    confirmation without the rows that only link two records (a user's groups, a
    role's permissions): Django lists those as "Group-permission relationship:
    Group_permissions object (486)", in English whatever the language, and they go
    with the record as a matter of course."""

    permission_fields = ("permissions", "user_permissions")

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name in self.permission_fields:
            kwargs["form_class"] = PermissionsField
            kwargs["queryset"] = Permission.objects.select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_deleted_objects(self, objs, request):
        deleted, counts, needed, protected = super().get_deleted_objects(objs, request)
        links = [m for m in apps.get_models(include_auto_created=True) if m._meta.auto_created]
        names = tuple(f"{capfirst(m._meta.verbose_name)}: " for m in links)
        plurals = {str(m._meta.verbose_name_plural) for m in links}
        counts = {name: count for name, count in counts.items() if str(name) not in plurals}
        return _without_links(deleted, names), counts, needed, protected


def _without_links(items: list, names: tuple[str, ...]) -> list:
    kept = []
    for item in items:
        if isinstance(item, list):
            if inner := _without_links(item, names):
                kept.append(inner)
        elif not str(item).startswith(names):
            kept.append(item)
    return kept


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PermissionsInReaderLanguageMixin, TranslatedHistoryMixin, DjangoGroupAdmin):
    pass


@admin.register(User)
class UserAdmin(PermissionsInReaderLanguageMixin, TranslatedHistoryMixin, DjangoUserAdmin):
    add_form = AdminUserCreationForm
    change_password_form = AdminPasswordChangeForm
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


# django-axes' list of login attempts, with the words its own admin leaves untranslatable:
# a column named after its method ("Status") and a message built before translation.
class LoginAttemptAdmin(AccessAttemptAdmin):
    @admin.display(description=_("status"))
    def status(self, obj: AccessAttempt) -> str:
        return super().status(obj)

    @admin.display(description=_("expires at"))
    def expiration(self, obj: AccessAttempt):
        return super().expiration(obj)

    @admin.action(description=_("Clean up expired attempts"))
    def cleanup_expired_attempts(self, request, queryset):
        count = self.handler.clean_expired_user_attempts(request=request)
        self.message_user(
            request,
            ngettext(
                "%(count)d expired login attempt removed.",
                "%(count)d expired login attempts removed.",
                count,
            )
            % {"count": count},
        )


if admin.site.is_registered(AccessAttempt):  # unless AXES_ENABLE_ADMIN is off
    admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, LoginAttemptAdmin)
