"""View decorators of the roles: the one place a page asks for a permission."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


class PermissionNeeded(PermissionDenied):
    """A page refused for want of a permission: the 403 page names the roles that have it."""

    def __init__(self, permission: str):
        super().__init__()
        self.permission = permission


def permission_needed(permission: str):
    """Log in first, then refuse (403) a role that lacks the permission."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise PermissionNeeded(permission)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
