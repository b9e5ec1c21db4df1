import logging
import socket
import threading
import time
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.backends import cached_db as cached_db_sessions
from django.contrib.sessions.backends import db as db_sessions

from bench.processes import PrivateRedis


@pytest.fixture
def hanging_redis():
    """A server that accepts connections and never answers, like a Redis that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_answers_and_tasks_run_eagerly(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["mode"] == "eager"


@pytest.mark.broker
@pytest.mark.django_db
def test_healthz_answers_200_with_the_real_redis_broker(client, settings):
    settings.REDIS_URL = settings.TEST_REDIS_URL
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["broker"] == {"ok": True, "error": None, "mode": "redis"}


@pytest.mark.django_db
def test_healthz_names_a_broker_that_refuses_connections_with_503(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["error"]


@pytest.mark.django_db
def test_healthz_answers_within_3_seconds_when_redis_hangs(client, settings, hanging_redis):
    settings.REDIS_URL = hanging_redis
    started = time.monotonic()
    response = client.get("/healthz")
    # A correctness bound (a hung broker must not hang the check), with a wide margin.
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


@pytest.fixture
def healthy_so_far():
    """This process's health checks have not seen a service fail yet."""
    from config import views

    for failing in views._failing.values():
        failing.clear()
    yield
    for failing in views._failing.values():
        failing.clear()


@pytest.mark.django_db
def test_a_broker_away_for_several_checks_is_logged_when_it_goes_and_when_it_is_back(
    client, settings, caplog, healthy_so_far
):
    broker = PrivateRedis(port=_free_port())  # not started yet: connections are refused
    settings.REDIS_URL = broker.url
    with caplog.at_level(logging.INFO):
        answers = [client.get("/healthz").status_code for _ in range(3)]
        broker.start()
        try:
            answers.append(client.get("/healthz").status_code)
        finally:
            broker.stop()

    assert answers == [503, 503, 503, 200]
    # Not one ERROR per 503 (a load balancer checks every few seconds): two lines.
    assert [
        (r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING
    ] == [
        ("WARNING", "health check: broker does not answer: ConnectionError"),
        ("WARNING", "health check: broker answers again"),
    ]


def test_every_redis_client_has_short_timeouts():
    """The broker and the cache give up in seconds; kombu's default waits forever."""
    transport = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert 0 < transport["socket_timeout"] <= 5
    assert 0 < transport["socket_connect_timeout"] <= 5
    assert 0 < settings.CELERY_BROKER_CONNECTION_TIMEOUT <= 5
    # Sessions are not in Redis: an outage logs nobody out.
    store = import_module(settings.SESSION_ENGINE).SessionStore
    assert issubclass(store, db_sessions.SessionStore)
    assert not issubclass(store, cached_db_sessions.SessionStore)


@pytest.mark.broker
def test_the_celery_app_reaches_the_real_redis_broker_with_its_timeouts(settings):
    """The broker options the worker and the web process use are accepted by kombu."""
    from config import celery_app

    with celery_app.connection_for_write(settings.TEST_REDIS_URL) as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.connected
        assert conn.transport_options["socket_timeout"] == settings.REDIS_TIMEOUT
        # A round trip on the tests' own database number, cleaned up afterwards.
        queue = conn.SimpleQueue("portal-test-broker")
        try:
            queue.put({"ping": 1})
            message = queue.get(timeout=2)
            message.ack()
            assert message.payload == {"ping": 1}
        finally:
            queue.clear()
            queue.close()
