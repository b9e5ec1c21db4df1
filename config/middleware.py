"""Project-wide request handling that belongs to no single app."""

from django.http import QueryDict

from core.text import typed


def _typed_query(query: QueryDict) -> QueryDict:
    if all(k.isascii() and all(v.isascii() for v in vs) for k, vs in query.lists()):
        return query  # nearly every request: nothing to change, nothing copied
    cleaned = QueryDict(mutable=True, encoding=query.encoding)
    for key, values in query.lists():
        cleaned.setlist(typed(key), [typed(v) for v in values])
    cleaned._mutable = False
    return cleaned


class TypedTextMiddleware:
    """Every form's text, as core.text.typed makes it, before any view reads it.

    One place for every form (the portal's, Django admin's, the filters' query strings),
    rather than a rule each form might forget. Files are left as they are: the imports
    clean their cells themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET = _typed_query(request.GET)
        if request.method == "POST":
            request.POST = _typed_query(request.POST)
        return self.get_response(request)
