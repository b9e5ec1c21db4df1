"""View decorators of the roles: the one place a page asks for a permission."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse, QueryDict
from django.shortcuts import resolve_url
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from .scopes import Scope, scope_for


class PermissionNeeded(PermissionDenied):
    """A page refused for want of a permission: the 403 page names the roles that have it."""

    def __init__(self, permission: str):
        super().__init__()
        self.permission = permission


def json_requested(request) -> bool:
    """Whether the caller's script asked for JSON (the phone's outbox does): it is then
    answered in JSON even when refused, never with a login page it cannot show."""
    return request.headers.get("Accept", "").startswith("application/json")


def login_needed_json(request, login_next: str | None = None) -> JsonResponse:
    """401 with where to log in: after it, the login returns to `login_next` (a URL name
    or path), by default to the page asked for."""
    query = QueryDict(mutable=True)
    query["next"] = resolve_url(login_next) if login_next else request.get_full_path()
    login_url = f"{resolve_url(settings.LOGIN_URL)}?{query.urlencode(safe='/')}"
    return JsonResponse({"status": "login", "login_url": login_url}, status=401)


def refused_json(reason: str = "") -> JsonResponse:
    return JsonResponse(
        {"status": "refused", "reason": reason or _("This page is not open to your role.")},
        status=403,
    )


def permission_needed(
    *permissions: str,
    refusal: str | Promise | None = None,
    where: Callable[[Scope], bool] | None = None,
    where_refusal: str | Promise | None = None,
    login_next: str | None = None,
):
    """Log in first, then refuse (403) a role that lacks one of the permissions, or a
    user whose scope `where` turns down (a page for some levels only).

    The 403 page names the roles that have the missing permission, unless the page
    gives a `refusal`: then it says that instead (an empty one: the page's general
    words). A user turned down by `where` is told `where_refusal`, else `refusal`.

    A request that asks for JSON is answered in JSON instead: 401 with the login's
    address (returning to `login_next`, by default the page) rather than the login
    page, and 403 with the reason rather than the 403 page.
    """

    def denial(user) -> PermissionDenied | None:
        for permission in permissions:
            if not user.has_perm(permission):
                if refusal is None:
                    return PermissionNeeded(permission)
                return PermissionDenied(str(refusal))
        if where is not None and not where(scope_for(user)):
            reason = where_refusal if where_refusal is not None else refusal
            return PermissionDenied(str(reason or ""))
        return None

    def decorator(view):
        @login_required
        def page(request, *args, **kwargs):
            if (denied := denial(request.user)) is not None:
                raise denied
            return view(request, *args, **kwargs)

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not json_requested(request):
                return page(request, *args, **kwargs)
            if not request.user.is_authenticated:
                return login_needed_json(request, login_next)
            if (denied := denial(request.user)) is not None:
                return refused_json(str(denied))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
