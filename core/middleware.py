"""Request handling that the apps share."""

from .cache import read_ahead, read_ahead_end, read_ahead_keys


class CacheReadAheadMiddleware:
    """Reads the cache entries the apps say a request will ask for in one round trip
    (core.cache.read_ahead), before the view and the middleware that ask them in their
    own process_view, and forgets them when the response is made.

    In process_view, not __call__: the keys may depend on the session's user, and a view
    that answers without a session (the health check) must not have it read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            read_ahead_end()

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "without_session", False):
            read_ahead(read_ahead_keys(request, view_func))
        return None
