"""Fixtures shared by every app's tests."""

import pytest
from django.core.cache import cache

from communes.services import divisions_load


@pytest.fixture
def divisions(db):
    """The 226 real communes, loaded as in production."""
    divisions_load()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty local cache, as a fresh process would."""
    cache.clear()
    yield
    cache.clear()
