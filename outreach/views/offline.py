"""The visit form without a signal: the choices a phone keeps, and the page of its outbox.

The phone keeps its leader's form choices (visit_choices_json) so that the form opens
with no signal, and an outbox of visits in IndexedDB that its scripts send to visit_new
as JSON once the portal answers again (static/js/offline/). The server keeps no queue:
a visit is stored when it arrives, once per submission id.
"""

import hashlib
import json
from functools import wraps

from django.contrib.auth import SESSION_KEY
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import path
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import permission_needed
from accounts.models import User

from ..models import Visit
from ..selectors import VisitChoices, visit_choices_for_leader


def no_team_reason() -> str:
    """Why a login logs no visit: the no-team page's words."""
    return _("Your login is not the leader of an active team, so you cannot log visits.")


def _no_team():
    # The phone then deletes what it kept for this leader: its visits could never be sent.
    return JsonResponse({"status": "no_team", "reason": no_team_reason()}, status=403)


def _switched_off_login(view):
    """A leader who leaves their team, or steps down, loses their login
    (outreach.services.teams): their session no longer logs anyone in. Their phone is
    told no_team rather than to log in again, so that it deletes the households and
    visits it kept for them, as the notice promises."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user_id = request.session.get(SESSION_KEY)
        if (
            not request.user.is_authenticated
            and user_id is not None
            and User.objects.filter(pk=user_id, is_active=False).exists()
        ):
            return _no_team()
        return view(request, *args, **kwargs)

    return wrapped


def _choices_document(user: User, choices: VisitChoices) -> dict:
    """What the form offers this leader, in the request's language (the labels)."""
    team = choices.team
    return {
        "user": {"id": user.pk, "name": user.get_full_name()},
        "team": {
            "id": team.pk,
            "name": team.name,
            "formed_on": team.formed_on.isoformat(),
            "commune": {"code": team.commune.code, "name": team.commune.name},
        },
        "hamlets": [{"id": h.pk, "name": h.name} for h in choices.hamlets],
        "members": [{"id": m.pk, "name": m.full_name} for m in choices.members],
        "services": [{"id": s.pk, "code": s.code, "label": str(s)} for s in choices.services],
        "outcomes": [
            {"value": value, "label": str(label)} for value, label in Visit.Outcome.choices
        ],
    }


def _choices_body(user: User, choices: VisitChoices) -> tuple[bytes, str]:
    """The choices as sent, and their ETag (without quotes): a hash of those very bytes,
    so that it changes with any name, label, language or the leader's team."""
    body = json.dumps(
        _choices_document(user, choices), ensure_ascii=False, separators=(",", ":")
    ).encode()
    return body, hashlib.sha256(body).hexdigest()[:32]


def choices_etag(user: User, choices: VisitChoices) -> str:
    """The ETag visit_choices_json sends this leader in this language, without quotes:
    the form page carries it, so that a page the phone kept can tell whether the choices
    it stored since are newer than its own."""
    return _choices_body(user, choices)[1]


def _not_modified(request, etag: str) -> bool:
    # Weak comparison: GZipMiddleware turns the ETag of a compressed answer into W/"…".
    sent = {tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))}
    return f'"{etag}"' in sent or "*" in sent


@require_GET
@_switched_off_login
@permission_needed("outreach.add_visit", login_next="outreach:visit_outbox")
def visit_choices_json(request):
    """The leader's form choices, for the phone to keep. Each answer also carries a
    fresh CSRF token and the login's id: the outbox sends with that token, and never
    sends one login's visits under another's."""
    choices = visit_choices_for_leader(request.user)
    if choices is None:
        return _no_team()
    body, etag = _choices_body(request.user, choices)
    response = (
        HttpResponseNotModified()
        if _not_modified(request, etag)
        else HttpResponse(body, content_type="application/json")
    )
    response["ETag"] = f'"{etag}"'
    # Kept by the phone, asked again each time: the If-None-Match makes that cost nothing.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    response["X-CSRFToken"] = get_token(request)
    response["X-Portal-User"] = str(request.user.pk)
    return response


@never_cache
@require_GET
@permission_needed("outreach.add_visit")
def visit_outbox(request):
    """The visits waiting on this phone: a page its scripts fill from IndexedDB (the
    server knows nothing of them until they arrive)."""
    return render(request, "outreach/visits/outbox.html")


urlpatterns = [
    path("visits/choices.json", visit_choices_json, name="visit_choices_json"),
    path("visits/outbox/", visit_outbox, name="visit_outbox"),
]
