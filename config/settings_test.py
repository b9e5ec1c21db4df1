"""Settings for the test suite: the real settings, with the test services wired in.

Tests run against a real PostgreSQL (never SQLite) and, where they exercise the broker,
a real Redis on a database number of their own.
"""

import os
from pathlib import Path

import environ

# The .env the settings read, read first so that its DATABASE_URL and TEST_REDIS_URL
# count here as they do everywhere else (the environment still wins).
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)
# .env.example as copied leaves SECRET_KEY empty, and an empty DATABASE_URL would mean
# SQLite, which the tests never use.
os.environ["SECRET_KEY"] = os.environ.get("SECRET_KEY") or "test-only-secret-key"
os.environ["DATABASE_URL"] = (
    os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/namdinh_portal"
)
# Tests that need the broker set REDIS_URL themselves; the rest run Celery eagerly.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["REDIS_URL"] = ""

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOW_DEMO_DATA = True
SECURE_HTTPS = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
