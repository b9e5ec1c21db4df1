"""Fixtures shared by every app's tests."""

import logging

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


# --- No personal data in the logs (config/log_scan.py) -------------------------------------

_RECORDER = None
_PEOPLE: set[str] = set()
_PERSON_FIELDS = {
    "outreach.member": ("full_name", "phone"),
    "outreach.household": ("head_name", "phone", "address_label"),
    "trainings.attendance": ("full_name", "phone"),
    "accounts.user": ("full_name",),
}


def _remember_person(sender, instance, **kwargs) -> None:
    fields = _PERSON_FIELDS.get(sender._meta.label_lower)
    if fields:
        _PEOPLE.update(str(getattr(instance, f) or "") for f in fields)


def pytest_configure(config):
    global _RECORDER
    from config.log_scan import NOT_THE_PORTALS, Recorder

    _RECORDER = Recorder()
    root = logging.getLogger()
    root.addHandler(_RECORDER)
    # Every level: a debug line that names a person is as much a leak as an error.
    root.setLevel(logging.DEBUG)
    for name in NOT_THE_PORTALS:
        logging.getLogger(name).setLevel(logging.WARNING)


@pytest.fixture(scope="session", autouse=True)
def _people_stored():
    from django.db.models.signals import post_save

    post_save.connect(_remember_person, dispatch_uid="log-scan-people")
    yield
    post_save.disconnect(dispatch_uid="log-scan-people")


def pytest_sessionfinish(session, exitstatus):
    from config.log_scan import personal_data_in

    if _RECORDER is None or session.config.option.collectonly:
        return
    leaks = personal_data_in(_RECORDER.lines, _PEOPLE)
    if leaks:
        shown = "\n  ".join(leaks[:20])
        session.config.get_terminal_writer().line(
            f"\nPERSONAL DATA IN THE LOGS: {len(leaks)} record(s), e.g.\n  {shown}", red=True
        )
        session.exitstatus = 1
