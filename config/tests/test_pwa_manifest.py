"""The web app manifest: what makes the portal installable on a leader's phone (issue 19)."""

import re
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.staticfiles import finders
from django.db import OperationalError
from django.urls import reverse

from accounts.tests.factories import UserFactory
from config.pwa import THEME_COLOR

MANIFEST = reverse("web_manifest")
PORTAL_CSS = Path(settings.BASE_DIR) / "static" / "css" / "portal.css"


def _png_size(path: str) -> tuple[int, int]:
    """A PNG's width and height, from its header; every chunk's checksum checked."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, size = 8, None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        position += 12 + length
    assert kind == b"IEND"
    return size


@pytest.mark.django_db
def test_the_manifest_names_the_portal_in_vietnamese_and_opens_it_standalone(client):
    response = client.get(MANIFEST)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    assert response["Cache-Control"] == "public, max-age=86400"
    manifest = response.json()
    assert manifest["name"] == "Công dân số Nam Định"
    assert manifest["lang"] == "vi"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/",
        "/",
        "standalone",
    )
    assert manifest["short_name"] and manifest["description"]
    assert manifest["background_color"] == "#ffffff"


@pytest.mark.django_db
def test_the_manifest_is_in_english_for_an_english_reader(client):
    response = client.get(MANIFEST, HTTP_ACCEPT_LANGUAGE="en")

    manifest = response.json()
    assert manifest["name"] == "Digital citizens of Nam Định"
    assert manifest["lang"] == "en"
    assert "Accept-Language" in response["Vary"]


def test_the_theme_is_the_headers_colour():
    header = re.search(r"--brand:\s*(#[0-9a-fA-F]{6});", PORTAL_CSS.read_text()).group(1)
    assert THEME_COLOR.lower() == header.lower()


@pytest.mark.django_db
def test_the_manifest_says_the_theme_colour(client):
    assert client.get(MANIFEST).json()["theme_color"] == THEME_COLOR


@pytest.mark.django_db
def test_the_icons_exist_at_the_sizes_the_manifest_says(client):
    icons = client.get(MANIFEST).json()["icons"]

    sizes = {}
    for icon in icons:
        assert icon["type"] == "image/png"
        found = finders.find(icon["src"].removeprefix(settings.STATIC_URL).lstrip("/"))
        assert found, icon["src"]
        width, height = _png_size(found)
        assert icon["sizes"] == f"{width}x{height}"
        sizes[icon.get("purpose", "any")] = sizes.get(icon.get("purpose", "any"), []) + [width]
    # What browsers ask to install: 192 and 512, and a maskable one for Android.
    assert sorted(sizes["any"]) == [192, 512]
    assert sizes["maskable"] == [512]


@pytest.mark.django_db
def test_the_manifest_answers_without_reading_the_session(client, monkeypatch):
    client.force_login(UserFactory())

    def database_away(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(SessionStore, "load", database_away)

    response = client.get(MANIFEST)

    assert response.status_code == 200
    assert response.json()["name"] == "Công dân số Nam Định"
