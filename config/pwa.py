"""The web app manifest: what a phone needs to install the portal on its home screen.

Its service worker is config/service_worker.py; the icons are drawn by
scripts/make_icons.py, in the header's colour (static/css/portal.css, --brand).
"""

import json

from django.http import HttpResponse
from django.templatetags.static import static
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.middleware import without_session

# The header's colour (static/css/portal.css, --brand): the phone's bar matches the page.
THEME_COLOR = "#b3261e"
BACKGROUND_COLOR = "#ffffff"


@without_session  # the same for every login: nothing of the session is read
@require_GET
def web_manifest(request):
    manifest = {
        "name": _("Digital citizens of Nam Định"),
        "short_name": _("Digital citizens"),
        "description": _(
            "The portal of the community digital technology teams: log the visits to "
            "households, even where there is no signal."
        ),
        "lang": get_language(),
        "id": "/",
        # The home page sends a team leader to their team's page.
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": BACKGROUND_COLOR,
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = HttpResponse(
        json.dumps(manifest, ensure_ascii=False), content_type="application/manifest+json"
    )
    response["Cache-Control"] = "public, max-age=86400"
    # The language comes from the language cookie or the browser's (LocaleMiddleware
    # adds Accept-Language itself).
    patch_vary_headers(response, ("Cookie",))
    return response
