"""The service worker that lets a team leader open the visit form with no signal.

Served by a view rather than from static/: a worker controls only the pages under its
own path, so it must live at the site's root, and its address must never change (a
hashed static name would install a new worker at every deploy and leave the old one
running). The script itself is templates/pwa/sw.js; the manifest that goes with it is
config/pwa.py, and the outbox it sends is static/js/offline/.
"""

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.http import HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import parse_etags
from django.views.decorators.http import require_GET

from accounts.middleware import without_session

# What the worker runs, in this order: Workbox's modules depend on core, and the
# outbox on idb and the store.
WORKER_SCRIPTS = (
    "vendor/workbox/workbox-core.prod.js",
    "vendor/workbox/workbox-routing.prod.js",
    "vendor/workbox/workbox-strategies.prod.js",
    "vendor/workbox/workbox-precaching.prod.js",
    "vendor/idb/idb.umd.js",
    "js/offline/store.js",
    "js/offline/outbox.js",
)

# The static files of the pages a leader opens with no signal (the team's page, the
# visit form, the outbox page): base.html's, the team page's figures (dashboard.css,
# print.css), the form's and the outbox page's.
PRECACHED = (
    "css/portal.css",
    "css/dashboard.css",
    "css/print.css",
    "js/downloads.js",
    "js/visit-form.js",
    "vendor/idb/idb.umd.js",
    "js/offline/store.js",
    "js/offline/outbox.js",
    "js/offline/page.js",
    "js/offline/outbox-page.js",
    "icons/icon-192.png",
)

# The pages whose last copy the worker keeps (network first): nothing else is cached.
KEPT_PAGES = ("home", "outreach:visit_new", "outreach:visit_outbox")


def _revision(path: str) -> str:
    """A hash of the file's content, so that the worker fetches it again when it changes
    (in production the static URL is hashed too; in development it is not)."""
    found = finders.find(path)
    if found:
        with open(found, "rb") as source:
            content = source.read()
    else:
        # Only the collected copy exists (a deploy without the source's static/).
        with staticfiles_storage.open(path) as source:
            content = source.read()
    return hashlib.sha256(content).hexdigest()[:16]


def precache_entries() -> list[dict]:
    """The precache list: each static file's URL, as the pages ask for it, and revision.

    Where the URLs carry their content's hash (production's manifest storage), there is
    no revision: Workbox then fetches the URL the page has just loaded, which the
    browser's cache answers (WhiteNoise marks them immutable), instead of a cache-busting
    URL that would download every file a second time on a phone's first visit.
    """
    hashed = isinstance(staticfiles_storage, ManifestFilesMixin)
    return [
        {"url": static(path), "revision": None if hashed else _revision(path)} for path in PRECACHED
    ]


def _render() -> bytes:
    config = {
        "precache": precache_entries(),
        "pages": [reverse(name) for name in KEPT_PAGES],
        "urls": {
            "choices": reverse("outreach:visit_choices_json"),
            "visitNew": reverse("outreach:visit_new"),
            "outbox": reverse("outreach:visit_outbox"),
        },
    }
    return render_to_string(
        "pwa/sw.js",
        {
            "scripts": json.dumps([static(path) for path in WORKER_SCRIPTS]),
            "config": json.dumps(config, indent=2),
        },
    ).encode()


# The static files do not change while a server runs, except in development.
_render_once = lru_cache(maxsize=1)(_render)


@without_session  # the same script for everyone: nothing of the session is read
@require_GET
def service_worker(request):
    body = _render() if settings.DEBUG else _render_once()
    etag = hashlib.sha256(body).hexdigest()[:32]
    # The browser checks for a new worker on navigations: unchanged, that costs a 304.
    # (GZipMiddleware weakens the ETag of a compressed answer: W/ is ignored.)
    asked = {
        tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))
    }
    if f'"{etag}"' in asked:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = f'"{etag}"'
    # Always asked again (with the ETag): a stale worker would keep stale files.
    response["Cache-Control"] = "no-cache"
    return response
