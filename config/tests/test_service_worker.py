"""The service worker at /sw.js (config/service_worker.py, templates/pwa/sw.js) and the
hooks base.html and the visit form give the phone's scripts (static/js/offline/).

What the worker does in a browser (the files precached, the pages kept, the outbox
sent) is proven by e2e/test_offline.py; here, what the server sends it.
"""

import hashlib
import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import commune_official
from communes.models import Commune
from outreach.models import Member
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory

SW = reverse("service_worker")
HAI_DONG = 14269


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=HAI_DONG)


@pytest.fixture
def official(hai_dong):
    return commune_official(hai_dong)


@pytest.fixture
def leader(hai_dong, official):
    team = TeamFactory(commune=hai_dong, hamlet=HamletFactory(commune=hai_dong))
    member = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=official, member=member)
    return user


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _config(body: str) -> dict:
    return json.loads(re.search(r"^var config = (\{.*?^\});$", body, re.S | re.M).group(1))


def _imports(body: str) -> list[str]:
    return json.loads(re.search(r"^importScripts\(\.\.\.(\[.*?\])\);$", body, re.M).group(1))


def _static_file(url: str) -> str:
    """The file in static/ that a static URL names (the URL must be a same-site path)."""
    prefix = static("")
    assert url.startswith(prefix) and not url.startswith("//"), url
    found = finders.find(url.removeprefix(prefix))
    assert found, f"{url} names no static file"
    return found


class _Assets(HTMLParser):
    """The scripts and style sheets a page loads."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("rel") in ("stylesheet", "apple-touch-icon"):
            self.urls.append(attrs["href"])


def _assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.mark.django_db
def test_the_worker_is_served_at_the_root_as_javascript_asked_again_each_time(
    client, leader, django_assert_num_queries
):
    leaders_phone = _signed_in(leader)
    # No query, signed in or not: the browser asks for it on its own, sessions aside.
    with django_assert_num_queries(0):
        anonymous = client.get(SW)
    with django_assert_num_queries(0):
        signed_in = leaders_phone.get(SW)

    assert SW == "/sw.js"
    assert anonymous.status_code == 200
    assert anonymous["Content-Type"] == "text/javascript; charset=utf-8"
    assert anonymous["Cache-Control"] == "no-cache"
    assert anonymous.content == signed_in.content  # the same script for everyone


@pytest.mark.django_db
def test_an_unchanged_worker_costs_a_304(client):
    first = client.get(SW)

    again = client.get(SW, HTTP_IF_NONE_MATCH=first["ETag"])
    weak = client.get(SW, HTTP_IF_NONE_MATCH=f"W/{first['ETag']}")  # as gzip makes it
    other = client.get(SW, HTTP_IF_NONE_MATCH='"an-older-worker"')

    assert again.status_code == weak.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert other.status_code == 200 and other.content == first.content


@pytest.mark.django_db
def test_every_file_the_worker_precaches_or_imports_exists_with_the_revision_of_its_content(
    client,
):
    body = client.get(SW).content.decode()
    config = _config(body)

    assert config["precache"], "nothing precached"
    for entry in config["precache"]:
        with open(_static_file(entry["url"]), "rb") as source:
            assert entry["revision"] == hashlib.sha256(source.read()).hexdigest()[:16]
    imported = _imports(body)
    for url in imported:
        _static_file(url)
    # Workbox's core first (the others read it), the outbox after the store it uses.
    names = [url.rsplit("/", 1)[-1] for url in imported]
    assert names[0] == "workbox-core.prod.js"
    assert names.index("store.js") < names.index("outbox.js")
    assert names.index("idb.umd.js") < names.index("store.js")


@pytest.mark.django_db
def test_the_worker_keeps_the_leaders_three_pages_and_sends_to_the_visit_form(client):
    config = _config(client.get(SW).content.decode())

    assert config["pages"] == ["/", "/visits/new/", "/visits/outbox/"]
    assert config["urls"] == {
        "choices": reverse("outreach:visit_choices_json"),
        "visitNew": reverse("outreach:visit_new"),
        "outbox": reverse("outreach:visit_outbox"),
    }


@pytest.mark.django_db
def test_the_worker_needs_nothing_the_content_security_policy_refuses(client):
    response = client.get(SW)
    body = response.content.decode()
    # A worker runs under the policy its own script is served with.
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe-eval" not in policy and "unsafe-inline" not in policy

    # Everything it loads or fetches is a path of this site (no CDN, no other origin)...
    for url in _imports(body) + [e["url"] for e in _config(body)["precache"]]:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "http://" not in body and "https://" not in body
    # ...and no script it runs builds code from text, which 'self' alone refuses.
    for url in _imports(body):
        with open(_static_file(url), encoding="utf-8") as source:
            code = source.read()
        assert not re.search(r"\beval\(|new Function\(", code), url


@pytest.mark.django_db
def test_the_pages_a_leader_opens_without_a_signal_load_only_precached_files(leader):
    client = _signed_in(leader)
    precached = {entry["url"] for entry in _config(client.get(SW).content.decode())["precache"]}

    for page in ("home", "outreach:visit_new", "outreach:visit_outbox"):
        response = client.get(reverse(page))
        assert response.status_code == 200, page
        missing = set(_assets(response.content.decode())) - precached
        assert not missing, f"{page} loads files the worker does not keep: {missing}"


@pytest.mark.django_db
def test_a_leaders_pages_tell_the_phone_whose_visits_it_keeps(leader):
    page = _signed_in(leader).get(reverse("home")).content.decode()

    assert f'data-offline-user="{leader.pk}"' in page
    assert f'data-offline-sw-url="{SW}"' in page
    assert f'data-offline-choices-url="{reverse("outreach:visit_choices_json")}"' in page
    assert 'id="outbox-badge"' in page and 'id="logout-warning"' in page
    assert f'<link rel="manifest" href="{reverse("web_manifest")}">' in page
    assert "js/offline/outbox.js" in page


@pytest.mark.django_db
def test_other_logins_keep_nothing_and_anonymous_pages_touch_nothing(client, official):
    official_page = _signed_in(official).get(reverse("home"), follow=True)
    anonymous_page = client.get(reverse("login"))

    # Another login's page: the phone forgets a leader's households there, sends nothing.
    html = official_page.content.decode()
    assert 'data-offline-user=""' in html
    assert 'id="outbox-badge"' not in html and "js/offline/outbox.js" not in html
    # Signed out: an ended session keeps the queue until the same leader is back.
    html = anonymous_page.content.decode()
    assert "data-offline-user" not in html and "js/offline/" not in html


@pytest.mark.django_db
def test_the_new_visit_form_carries_the_etag_of_the_choices_it_was_made_with(leader):
    client = _signed_in(leader)

    form = client.get(reverse("outreach:visit_new")).content.decode()
    choices = client.get(reverse("outreach:visit_choices_json"), HTTP_ACCEPT="application/json")

    etag = choices["ETag"].removeprefix("W/").strip('"')
    assert f'data-choices-etag="{etag}"' in form
    assert 'id="offline-texts"' in form and 'id="offline-status"' in form


def test_with_hashed_static_names_the_worker_reuses_what_the_page_just_loaded(monkeypatch):
    """In production each static URL names its content: the precache then asks for the
    very URL the page loaded (no revision, so no cache-busting query), which the
    browser's cache answers, rather than downloading every file a second time."""
    from django.contrib.staticfiles.storage import ManifestStaticFilesStorage

    from config import service_worker

    monkeypatch.setattr(service_worker, "staticfiles_storage", ManifestStaticFilesStorage())
    entries = service_worker.precache_entries()
    assert entries and all(entry["revision"] is None for entry in entries)
    assert {entry["url"] for entry in entries} == {
        static(path) for path in service_worker.PRECACHED
    }
