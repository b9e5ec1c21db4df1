"""Staff sessions that end when left idle."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.utils.translation import gettext as _

from .models import ScopeLevel

LAST_SEEN_KEY = "last_seen"
# How often the last request's time is written back to the session: writing it on every
# request would save the session row on every page view.
TOUCH_EVERY_SECONDS = 60


def idle_limited(user) -> bool:
    """Staff and admins: everyone but a team leader, who logs visits from their own phone
    in the field and keeps the usual long session."""
    return user.is_staff or user.is_superuser or user.scope_level != ScopeLevel.TEAM


def session_start(sender, request, user, **kwargs) -> None:
    """The idle clock starts at login, written with the session the login saves anyway,
    so that the first page after it writes nothing."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())


def without_session(view):
    """Mark a view that must answer without reading the session (the health check: it
    answers while the database, where sessions live, is away)."""
    view.without_session = True
    return view


class IdleTimeoutMiddleware:
    """Logs staff and admins out after settings.STAFF_IDLE_TIMEOUT without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    # In process_view rather than __call__: the view must be known to spare the ones
    # that answer without a session.
    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "without_session", False):
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and idle_limited(user):
            limit = settings.STAFF_IDLE_TIMEOUT.total_seconds()
            now = int(time.time())
            last = request.session.get(LAST_SEEN_KEY)
            if last is not None and now - last > limit:
                logout(request)
                messages.info(
                    request,
                    _("You were logged out after %(minutes)d minutes without activity.")
                    % {"minutes": limit // 60},
                )
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= TOUCH_EVERY_SECONDS:
                request.session[LAST_SEEN_KEY] = now
        return None
