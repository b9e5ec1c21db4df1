"""The production configuration: Django's deployment checks, headers and cookies."""

import secrets

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from accounts.tests.factories import UserFactory

from .test_settings import _run_settings

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/3",
    "ALLOWED_HOSTS": "congdanso.namdinh.gov.vn",
    "ADMIN_URL": "quantri-7f3a/",
}


def test_check_deploy_with_the_production_settings_reports_nothing():
    result = _run_settings(
        PRODUCTION,
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_a_development_secret_key_fails_the_deploy_check():
    # The check above can fail: a weak key is reported, and the command exits non-zero.
    result = _run_settings(
        {**PRODUCTION, "SECRET_KEY": "short"},
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')",
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_django_admin_lives_where_the_environment_says():
    result = _run_settings(
        PRODUCTION,
        "from django.urls import reverse, resolve, Resolver404; print(reverse('admin:index'))\n"
        "try:\n    resolve('/admin/')\nexcept Resolver404:\n    print('no /admin/')",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["/quantri-7f3a/", "no /admin/"]


@pytest.mark.django_db
def test_pages_carry_a_policy_with_no_inline_script_and_the_hardening_headers(divisions):
    response = Client().get(reverse("login"))
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_over_https_pages_send_hsts_and_cookies_are_secure_httponly_and_same_site(divisions):
    user = UserFactory(username="canbo")
    client = Client()
    plain = client.get(reverse("login"))
    assert plain.status_code == 301 and plain["Location"].startswith("https://")

    page = client.get(reverse("login"), secure=True)
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    logged_in = client.post(
        reverse("login"),
        {"username": user.username, "password": "correct horse battery staple"},
        secure=True,
    )
    assert logged_in.status_code == 302
    session = logged_in.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"


def test_a_web_process_freezes_what_it_loaded_for_the_garbage_collector(tmp_path):
    """config/wsgi.py: Django, the apps and every view are out of Python's collections
    once the WSGI application is loaded; before it nothing is frozen."""
    result = _run_settings(
        {"DEBUG": "true", "SQLITE_PATH": str(tmp_path / "x.sqlite3")},
        "import gc, sys; before = gc.get_freeze_count(); import config.wsgi; "
        "print(before, gc.get_freeze_count(), 'dashboard.views' in sys.modules)",
    )
    assert result.returncode == 0, result.stderr
    before, after, views = result.stdout.split()
    assert int(before) == 0 and int(after) > 50_000 and views == "True"
