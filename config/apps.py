from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """Django admin, with the portal's site as the default one."""

    default_site = "config.admin_site.PortalAdminSite"
