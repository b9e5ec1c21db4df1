"""Fixtures shared by every app's tests."""

import logging

import pytest
from django.core.cache import cache

from communes.services import divisions_load


def reference_data_sync() -> None:
    """Put back the reference data every test may rely on: what migrations store (role
    groups, services, topics) and the 226 communes with their districts and province."""
    from django.apps import apps

    from accounts.roles import role_groups_sync
    from outreach.catalogue import services_sync
    from trainings.catalogue import topics_sync

    role_groups_sync(apps)
    services_sync(apps)
    topics_sync(apps)
    # Idempotent: on a database that has them it only reads (a tenth of a second), which
    # is what a test paid for each `divisions` before they were loaded once per database.
    divisions_load()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The reference data, communes included, loaded once per test database: each test's
    transaction rolls back what it changes, so they stay as loaded. A transactional test
    ends with a flush that empties every table, reference data included; with --reuse-db
    the next run would otherwise start without it."""
    with django_db_blocker.unblock():
        reference_data_sync()


@pytest.fixture
def reference_data(transactional_db):
    """For a transactional test: the reference data an earlier one's flush removed."""
    reference_data_sync()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a transactional test's flush, put the reference data back for what follows.

    pytest-django runs transactional tests last so that their flush harms no one; under
    pytest-xdist a worker runs whole files in turn, so a later file's tests (and its
    module-scoped fixtures) would find no role groups, services, topics or communes.
    """
    yield
    marker = item.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in getattr(item, "fixturenames", ()) for name in ("transactional_db", "live_server")
    )
    if transactional:
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            reference_data_sync()


@pytest.fixture
def divisions(db):
    """The 226 real communes, loaded as in production.

    They are loaded once per test database (django_db_setup) and after each flush
    (pytest_runtest_teardown), so this only asks for the database; the name stays for
    the tests that say what they rely on.
    """


@pytest.fixture
def no_divisions(db):
    """No province, districts or communes: for the tests that load them into an empty
    database. Deleted inside the test's transaction, so the rollback puts them back."""
    from communes.models import Commune, District, Province

    Commune.objects.all().delete()
    District.objects.all().delete()
    Province.objects.all().delete()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty local cache, as a fresh process would, without the
    dashboards' copies of the entries they read (a rolled-back database numbers its
    roll-up versions again)."""
    from dashboard.selectors.units import local_cache_clear

    cache.clear()
    local_cache_clear()
    yield
    cache.clear()
    local_cache_clear()


# --- The production cache, on the test Redis -------------------------------------------


@pytest.fixture
def redis_cache(settings):
    """The default cache as production configures it (core.cache.TolerantRedisCache), on
    the test Redis, under a key prefix of the test's own: the suite's default is a
    process-local cache, and another test file may share the Redis database, so nothing
    clears it (FLUSHDB); the test's keys are deleted after it."""
    import uuid

    from django.core.cache import caches

    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.TolerantRedisCache",
            "LOCATION": settings.TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
        }
    }
    redis_cache = caches["default"]
    yield redis_cache
    client = redis_cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def redis_commands(monkeypatch):
    """The names of the commands sent to Redis through redis-py's client, in order."""
    import redis

    sent: list[str] = []
    original = redis.Redis.execute_command

    def counted(self, *args, **options):
        sent.append(args[0])
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return sent


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
    """Each process scans what it logged; with pytest-xdist the workers leave their
    findings in a file for the controlling process, which fails the run."""
    import json
    from pathlib import Path

    from config.log_scan import personal_data_in

    if _RECORDER is None or session.config.option.collectonly:
        return
    findings = Path(session.config.rootpath) / "build" / "log-scan"
    worker = getattr(session.config, "workerinput", None)
    leaks = personal_data_in(_RECORDER.lines, _PEOPLE)
    if worker is not None:
        findings.mkdir(parents=True, exist_ok=True)
        (findings / f"{worker['workerid']}.json").write_text(json.dumps(leaks))
        return
    for path in sorted(findings.glob("gw*.json")) if findings.exists() else []:
        leaks += json.loads(path.read_text())
        path.unlink()
    if leaks:
        shown = "\n  ".join(leaks[:20])
        session.config.get_terminal_writer().line(
            f"\nPERSONAL DATA IN THE LOGS: {len(leaks)} record(s), e.g.\n  {shown}", red=True
        )
        session.exitstatus = 1
