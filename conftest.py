"""Fixtures shared by every app's tests."""

import pytest
from django.core.cache import cache

from communes.services import divisions_load


def reference_data_sync() -> None:
    """Put back the reference data migrations store (role groups, services, topics)."""
    from django.apps import apps

    from accounts.roles import role_groups_sync
    from outreach.catalogue import services_sync
    from trainings.catalogue import topics_sync

    role_groups_sync(apps)
    services_sync(apps)
    topics_sync(apps)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """A transactional test ends with a flush that empties every table, reference data
    included; with --reuse-db the next run would otherwise start without it."""
    with django_db_blocker.unblock():
        reference_data_sync()


@pytest.fixture
def reference_data(transactional_db):
    """For a transactional test: the reference data an earlier one's flush removed."""
    reference_data_sync()


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
