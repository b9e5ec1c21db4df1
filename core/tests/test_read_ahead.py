"""Reading a request's cache entries ahead (core.cache.read_ahead), on the real Redis."""

import pytest
import redis
from django.core.cache import caches

from bench.processes import free_port
from core.cache import reading_ahead


@pytest.fixture
def cache(redis_cache):
    return redis_cache


@pytest.fixture
def commands(redis_commands):
    return redis_commands


def test_entries_read_ahead_are_answered_without_another_round_trip(cache, commands):
    cache.set_many({"a": 1, "b": {"nested": [2]}})
    commands.clear()
    with reading_ahead(["a", "b", "gone"]):
        assert cache.get("a") == 1
        assert cache.get("b") == {"nested": [2]}
        # Missing when read ahead: the default, without asking again.
        assert cache.get("gone", "default") == "default"
        assert cache.get("gone") is None
    assert commands == ["MGET"]
    # After the block every read goes to Redis again.
    assert cache.get("a") == 1
    assert commands == ["MGET", "GET"]


def test_a_read_after_a_write_sees_the_write(cache):
    cache.set_many({"a": 1, "b": 2, "c": 3})
    with reading_ahead(["a", "b", "c", "gone"]):
        cache.set("a", 10)
        cache.delete("b")
        cache.incr("c")
        assert cache.add("gone", "added")
        assert cache.get("a") == 10
        assert cache.get("b") is None
        assert cache.get("c") == 4
        assert cache.get("gone") == "added"


def test_what_another_process_writes_meanwhile_is_seen_by_the_next_request(cache):
    """An entry read ahead is as old as the request's start, as if read then."""
    cache.set("a", 1)
    another_process = redis.Redis.from_url(cache._servers[0])
    with reading_ahead(["a"]):
        another_process.set(cache.make_key("a"), 2)
        assert cache.get("a") == 1
    with reading_ahead(["a"]):
        assert cache.get("a") == 2
    another_process.close()


def test_with_redis_away_nothing_is_read_ahead_and_reads_answer_nothing(settings, commands):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.TolerantRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nobody answers there
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    }
    cache = caches["default"]
    with reading_ahead(["a"]):
        assert cache.get("a", "default") == "default"
        # The breaker opened at the read ahead: no call tries Redis again.
        assert cache.get("b", "default") == "default"
    assert commands == ["MGET"]
