"""Reading a request's cache entries ahead (core.cache.read_ahead), on the real Redis."""

import redis
from django.core.cache import caches

from bench.processes import free_port
from core.cache import reading_ahead


def test_entries_read_ahead_are_answered_without_another_round_trip(redis_cache, redis_commands):
    redis_cache.set_many({"a": 1, "b": {"nested": [2]}})
    redis_commands.clear()
    with reading_ahead(["a", "b", "gone"]):
        assert redis_cache.get("a") == 1
        assert redis_cache.get("b") == {"nested": [2]}
        # Missing when read ahead: the default, without asking again.
        assert redis_cache.get("gone", "default") == "default"
        assert redis_cache.get("gone") is None
    assert redis_commands == ["MGET"]
    # After the block every read goes to Redis again.
    assert redis_cache.get("a") == 1
    assert redis_commands == ["MGET", "GET"]


def test_a_read_after_a_write_sees_the_write(redis_cache):
    redis_cache.set_many({"a": 1, "b": 2, "c": 3})
    with reading_ahead(["a", "b", "c", "gone"]):
        redis_cache.set("a", 10)
        redis_cache.delete("b")
        redis_cache.incr("c")
        assert redis_cache.add("gone", "added")
        assert redis_cache.get("a") == 10
        assert redis_cache.get("b") is None
        assert redis_cache.get("c") == 4
        assert redis_cache.get("gone") == "added"


def test_what_another_process_writes_meanwhile_is_seen_by_the_next_request(redis_cache):
    """An entry read ahead is as old as the request's start, as if read then."""
    redis_cache.set("a", 1)
    another_process = redis.Redis.from_url(redis_cache._servers[0])
    with reading_ahead(["a"]):
        another_process.set(redis_cache.make_key("a"), 2)
        assert redis_cache.get("a") == 1
    with reading_ahead(["a"]):
        assert redis_cache.get("a") == 2
    another_process.close()


def test_with_redis_away_nothing_is_read_ahead_and_reads_answer_nothing(settings, redis_commands):
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
    assert redis_commands == ["MGET"]
