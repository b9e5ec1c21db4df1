"""Fixtures shared by every app's tests."""

import pytest

from communes.services import divisions_load


@pytest.fixture
def divisions(db):
    """The 226 real communes, loaded as in production."""
    divisions_load()
