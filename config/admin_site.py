"""The portal's Django admin site: for administrators, who see everything.

The admin filters nothing by scope: each list shows every row the user's permissions
allow. So only users whose scope is everything enter it; anyone else, staff status or
not, is sent to its login page.
"""

from django.contrib import admin

from accounts.selectors import admin_site_allowed


class PortalAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        return admin_site_allowed(request.user)
