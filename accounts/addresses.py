"""Where a request comes from, for login throttling and the metrics' allow-list."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The caller's address. Behind the HTTPS proxy it is the last entry of
    X-Forwarded-For, the one nginx appended: the entries before it are whatever the caller
    sent, and REMOTE_ADDR is the proxy's own, the same for everyone. A request without
    the header came to gunicorn directly."""
    if settings.BEHIND_HTTPS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")
