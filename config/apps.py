from axes.apps import AppConfig as AxesAppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class PortalAdminConfig(AdminConfig):
    """Django admin, with the portal's site as the default one."""

    default_site = "config.admin_site.PortalAdminSite"


class LoginProtectionConfig(AxesAppConfig):
    """django-axes, under a name the admin's index can show in the reader's language
    (the library's is its label, "Axes")."""

    verbose_name = _("Login protection")
