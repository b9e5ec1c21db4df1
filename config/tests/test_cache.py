"""The tolerant cache (core/cache.py) against a Redis that refuses connections and a
real redis-server of the test's own stopped with SIGSTOP: Redis's failures cost one
timeout per period, answer "nothing", and are logged once when they start and once
when they end."""

import logging
import threading
import time
from types import SimpleNamespace

import pytest
from django.core.cache import caches

import core.cache
from bench.processes import free_port
from core.cache import cache_available

from .faults import private_redis

# A redis-server of each test's own, stopped and resumed: a fault test, like
# test_faults_cache.py.
pytestmark = pytest.mark.slow

TIMEOUT = 0.5  # the Redis client's socket timeout in these tests (production: 3 s)


def _tolerant(settings, url: str, breaker_seconds: float = 60.0):
    """The default cache, as production configures it, on the given Redis."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.TolerantRedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "socket_timeout": TIMEOUT,
                "socket_connect_timeout": TIMEOUT,
                "breaker_seconds": breaker_seconds,
            },
        }
    }
    return caches["default"]


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "core.cache" and r.levelno >= logging.WARNING]


def _timed(call):
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


@pytest.fixture
def hung_redis():
    """A redis-server of the test's own, holding a value, then stopped (SIGSTOP): its port
    accepts connections and nothing answers."""
    with private_redis() as server:
        yield server


def test_with_redis_refusing_connections_every_call_answers_nothing_and_one_warning_is_logged(
    settings, caplog
):
    cache = _tolerant(settings, f"redis://127.0.0.1:{free_port()}/0")
    assert cache_available()

    with caplog.at_level(logging.INFO):
        assert cache.get("k", "default") == "default"
        assert cache.add("k", 1) is False
        assert cache.set("k", 1) is None
        assert cache.get_many(["a", "b"]) == {}
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]  # the keys not stored
        assert cache.has_key("k") is False
        assert cache.touch("k") is False
        assert cache.delete("k") is False
        assert cache.delete_many(["a", "b"]) is None
        assert cache.get_or_set("k", lambda: "computed") == "computed"
        with pytest.raises(ValueError):
            cache.incr("counter")  # as for a key the cache does not hold
        assert cache.clear() is False

    assert not cache_available()
    [warning] = _warnings(caplog)
    assert "ConnectionError" in warning.getMessage()
    assert "stops asking Redis for 60 s" in warning.getMessage()
    assert warning.exc_info is None  # no traceback
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_with_redis_hung_only_the_first_call_waits_out_the_timeout(settings, hung_redis, caplog):
    cache = _tolerant(settings, hung_redis.cache_url)
    cache.set("figures", 42)
    assert cache.get("figures") == 42
    hung_redis.pause()

    with caplog.at_level(logging.INFO):
        first, waited = _timed(lambda: cache.get("figures"))
        assert first is None and waited >= TIMEOUT
        # Ten calls, as a dashboard page makes: none reaches Redis.
        _values, rest = _timed(
            lambda: (
                [cache.get("figures") for _ in range(5)]
                + [cache.set("figures", 43) for _ in range(5)]
            )
        )
    assert rest < 0.05
    [warning] = _warnings(caplog)
    assert "TimeoutError" in warning.getMessage()


def test_many_threads_failing_at_once_log_one_warning(settings, hung_redis, caplog):
    url = hung_redis.cache_url
    _tolerant(settings, url)
    hung_redis.pause()
    start = threading.Barrier(6)

    def page() -> None:
        cache = caches["default"]  # each thread has its own cache object and connection
        start.wait()
        cache.get("figures")

    with caplog.at_level(logging.INFO):
        threads = [threading.Thread(target=page) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(_warnings(caplog)) == 1
    assert not cache_available()


def test_after_the_period_one_call_tries_redis_again_and_closes_the_breaker_once_it_answers(
    settings, hung_redis, caplog, monkeypatch
):
    # The breaker's clock, moved on by hand past the period; Redis's timeouts stay real.
    later = [0.0]
    clock = SimpleNamespace(monotonic=lambda: time.monotonic() + later[0])
    monkeypatch.setattr(core.cache, "time", clock)
    cache = _tolerant(settings, hung_redis.cache_url)
    cache.set("figures", 42)
    hung_redis.pause()
    with caplog.at_level(logging.INFO):
        cache.get("figures")  # opens the breaker
        later[0] += 61

        # Half-open: one call tries Redis (and waits out the timeout), the others don't.
        durations = []

        def page() -> None:
            durations.append(_timed(lambda: caches["default"].get("figures"))[1])

        threads = [threading.Thread(target=page) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        durations.sort()
        assert durations[-1] >= TIMEOUT and durations[-2] < 0.05
        assert not cache_available()  # the trial failed: open for another period

        hung_redis.resume()
        assert cache.get("figures") is None  # still within the period: not asked
        later[0] += 61
        assert cache.get("figures") == 42  # the trial call, answered
        assert cache_available()
        cache.set("figures", 43)
        assert cache.get("figures") == 43

    opened, closed = _warnings(caplog)
    assert "cache unavailable (TimeoutError" in opened.getMessage()
    assert "cache available again" in closed.getMessage()


def test_the_cache_keeps_one_redis_client_for_every_call_and_reads_what_it_wrote(settings):
    """Django builds a redis-py client per call; ours keeps one per connection pool, and
    the values and the breaker work through it as before (one real Redis, many threads)."""
    cache = _tolerant(settings, settings.TEST_REDIS_URL)
    clients = set()

    def work(n: int) -> None:
        for i in range(20):
            cache.set(f"reuse:{n}:{i}", i)
            assert cache.get(f"reuse:{n}:{i}") == i
            clients.add(id(cache._cache.get_client()))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clients) == 1
    assert cache.get_many([f"reuse:{n}:19" for n in range(4)]) == {
        f"reuse:{n}:19": 19 for n in range(4)
    }
