"""Fixtures shared by every app's tests."""

import pytest
from django.core.cache import cache

from communes.services import divisions_load


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Put back the reference data migrations store (role groups, services, topics).

    A transactional test ends with a flush that empties every table; with --reuse-db
    the next run would otherwise start without them.
    """
    from django.apps import apps

    from accounts.roles import role_groups_sync
    from outreach.catalogue import services_sync
    from trainings.catalogue import topics_sync

    with django_db_blocker.unblock():
        role_groups_sync(apps)
        services_sync(apps)
        topics_sync(apps)


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
