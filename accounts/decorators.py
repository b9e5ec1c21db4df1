"""View decorators of the roles: the one place a page asks for a permission."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise

from .scopes import Scope, scope_for


class PermissionNeeded(PermissionDenied):
    """A page refused for want of a permission: the 403 page names the roles that have it."""

    def __init__(self, permission: str):
        super().__init__()
        self.permission = permission


def permission_needed(
    *permissions: str,
    refusal: str | Promise | None = None,
    where: Callable[[Scope], bool] | None = None,
    where_refusal: str | Promise | None = None,
):
    """Log in first, then refuse (403) a role that lacks one of the permissions, or a
    user whose scope `where` turns down (a page for some levels only).

    The 403 page names the roles that have the missing permission, unless the page
    gives a `refusal`: then it says that instead (an empty one: the page's general
    words). A user turned down by `where` is told `where_refusal`, else `refusal`.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            for permission in permissions:
                if not user.has_perm(permission):
                    if refusal is None:
                        raise PermissionNeeded(permission)
                    raise PermissionDenied(str(refusal))
            if where is not None and not where(scope_for(user)):
                reason = where_refusal if where_refusal is not None else refusal
                raise PermissionDenied(str(reason or ""))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
