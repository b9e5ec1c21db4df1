from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        from django.contrib.auth.models import Group, Permission
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import m2m_changed, post_delete

        from core.cache import read_ahead_register

        from .backends import permissions_changed, permissions_read_ahead_keys
        from .middleware import session_start
        from .models import User
        from .selectors import demo_read_ahead_keys

        read_ahead_register(permissions_read_ahead_keys)
        read_ahead_register(demo_read_ahead_keys)

        user_logged_in.connect(session_start, dispatch_uid="accounts.session_start")
        # What CachedPermissionBackend keeps: renewed whenever who may do what changes.
        for through in (User.groups.through, User.user_permissions.through):
            m2m_changed.connect(permissions_changed, sender=through, weak=False)
        m2m_changed.connect(permissions_changed, sender=Group.permissions.through, weak=False)
        for model in (Group, Permission):
            post_delete.connect(permissions_changed, sender=model, weak=False)
