"""The portal's cache: Django's Redis cache behind a circuit breaker.

A Redis that hangs makes every call wait out REDIS_TIMEOUT, and a dashboard page makes
ten: with a plain Redis cache it took 30 s. Here the first error or timeout opens a
breaker and, for CACHE_BREAKER_SECONDS, no call reaches Redis at all: each answers its
"nothing" at once (get: the default, add: False, set and delete: nothing done), so a
page costs its normal time without the cache. Then one call is let through as a trial;
its success closes the breaker, its failure keeps it open for another period.

The breaker is per process (shared by its threads): each gunicorn worker and each
Celery process opens its own at its first timeout, so an outage costs each process one
timeout per period. Opening and closing are logged once each, as a warning; calls
refused in between log nothing. Call sites use the cache plainly, with no error
handling of their own; code that would touch the same Redis another way (the broker)
asks `cache_available()` first.
"""

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import redis
from django.core.cache import cache, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import models, transaction
from django.db.models.signals import post_delete, post_migrate, post_save

from .signals import bulk_written

logger = logging.getLogger(__name__)

DEFAULT_BREAKER_SECONDS = 30.0


class Breaker:
    """Closed (calls pass), open (calls refused until `retry_at`), or half-open (one
    trial call in flight, the others refused)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._lock = threading.Lock()
        self.opened_at: float | None = None
        self.retry_at = 0.0
        self._trial = False

    @property
    def closed(self) -> bool:
        return self.opened_at is None

    def admit(self) -> bool | None:
        """None: refuse the call; False: an ordinary call; True: the trial call."""
        if self.opened_at is None:
            return False
        with self._lock:
            if self.opened_at is None:
                return False
            if self._trial or time.monotonic() < self.retry_at:
                return None
            self._trial = True
            return True

    def succeeded(self, trial: bool) -> None:
        # Only the trial closes it: an ordinary call that began before the breaker
        # opened says nothing about Redis now.
        if not trial:
            return
        with self._lock:
            down = time.monotonic() - self.opened_at
            self.opened_at = None
            self._trial = False
        logger.warning(
            "cache available again after %.0f s: process %d uses Redis again", down, os.getpid()
        )

    def released(self, trial: bool) -> None:
        """The call failed in a way that says nothing about Redis (a value that does not
        pickle): the next call may be the trial."""
        if trial:
            with self._lock:
                self._trial = False

    def failed(self, error: Exception) -> None:
        with self._lock:
            now = time.monotonic()
            opening = self.opened_at is None
            if opening:
                self.opened_at = now
            self.retry_at = now + self.seconds
            self._trial = False
        if opening:
            logger.warning(
                "cache unavailable (%s: %s): process %d stops asking Redis for %g s and "
                "works without the cache",
                type(error).__name__,
                error,
                os.getpid(),
                self.seconds,
            )


# One breaker per Redis location (and period) per process: Django makes a cache object
# per thread, and they must share what they learnt.
_breakers: dict[tuple[tuple[str, ...], float], Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker_for(servers: list[str], seconds: float) -> Breaker:
    key = (tuple(servers), seconds)
    breaker = _breakers.get(key)
    if breaker is None:
        with _breakers_lock:
            breaker = _breakers.setdefault(key, Breaker(seconds))
    return breaker


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis-py client per connection pool.

    Django builds a new `redis.Redis` for every operation, about a tenth of a
    millisecond of Python each, six times a dashboard request; a client is only a handle
    on its pool, which holds the connections and is safe to share between threads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


# --- Reading ahead: the entries a request will ask for, in one round trip --------------

# The entries read ahead for the request being answered, by their full key (prefix and
# version included, so that two caches never mix), a missing entry as _ABSENT; None
# outside a request that reads ahead.
_ahead: ContextVar[dict[str, Any] | None] = ContextVar("cache_read_ahead", default=None)
_ABSENT = object()

# Who says which entries a request will read: callables of (request, view) returning
# keys, registered by the apps that own the entries (their AppConfig.ready).
_ahead_providers: list[Callable[[Any, Callable], Iterable[str]]] = []


def read_ahead_register(provider: Callable[[Any, Callable], Iterable[str]]) -> None:
    """Add a provider of the keys a request will read (core.middleware reads them)."""
    if provider not in _ahead_providers:
        _ahead_providers.append(provider)


def read_ahead_keys(request, view) -> list[str]:
    keys: dict[str, None] = {}
    for provider in _ahead_providers:
        keys.update(dict.fromkeys(provider(request, view)))
    return list(keys)


def _read(keys: Iterable[str], alias: str) -> dict[str, Any] | None:
    backend = caches[alias]
    keys = list(keys)
    if not keys or not isinstance(backend, TolerantRedisCache):
        return None
    found = backend.get_many(keys)
    # A breaker open or a Redis that failed reads nothing ahead: every read is then
    # the backend's own (and answers its "nothing" while the breaker is open).
    if not found and not backend.breaker.closed:
        return None
    return {backend.make_key(key): found.get(key, _ABSENT) for key in keys}


def read_ahead(keys: Iterable[str], alias: str = "default") -> None:
    """Until read_ahead_end(), the cache answers reads of `keys` from one MGET made now.

    A page asks the cache for several small entries, one after the other (the roll-up's
    state, the permissions' generation and the user's permissions, the demo flag), each
    a round trip to Redis. Read together they cost one. What is written or deleted
    meanwhile is forgotten from what was read ahead, so a read after a write sees the
    write. Only for the Redis cache: another backend answers from the process anyway.
    """
    _ahead.set(_read(keys, alias))


def read_ahead_end() -> None:
    _ahead.set(None)


@contextmanager
def reading_ahead(keys: Iterable[str], alias: str = "default") -> Iterator[None]:
    """read_ahead() for a block."""
    token = _ahead.set(_read(keys, alias))
    try:
        yield
    finally:
        _ahead.reset(token)


class TolerantRedisCache(RedisCache):
    """RedisCache whose every operation goes through the process's breaker.

    OPTIONS may hold `breaker_seconds` (how long the breaker stays open); the other
    options go to redis-py as RedisCache's do. Within `read_ahead`, reads of the keys
    read ahead are answered without a round trip.
    """

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        seconds = float(options.pop("breaker_seconds", DEFAULT_BREAKER_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusedClientRedisCacheClient
        self.breaker = _breaker_for(self._servers, seconds)

    def _guarded(self, nothing: Callable[[], Any], call: Callable[[], Any]) -> Any:
        trial = self.breaker.admit()
        if trial is None:
            return nothing()
        try:
            value = call()
        except redis.RedisError as error:
            self.breaker.failed(error)
            return nothing()
        except BaseException:
            self.breaker.released(trial)
            raise
        self.breaker.succeeded(trial)
        return value

    def _forget_ahead(self, keys: Iterable[str], version=None) -> None:
        ahead = _ahead.get()
        if ahead:
            for key in keys:
                ahead.pop(self.make_key(key, version), None)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._forget_ahead([key], version)
        return self._guarded(
            lambda: False, lambda: super(TolerantRedisCache, self).add(key, value, timeout, version)
        )

    def get(self, key, default=None, version=None):
        ahead = _ahead.get()
        if ahead:
            value = ahead.get(self.make_key(key, version), ahead)
            if value is not ahead:
                return default if value is _ABSENT else value
        return self._guarded(
            lambda: default, lambda: super(TolerantRedisCache, self).get(key, default, version)
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._forget_ahead([key], version)
        return self._guarded(
            lambda: None, lambda: super(TolerantRedisCache, self).set(key, value, timeout, version)
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        self._forget_ahead([key], version)
        return self._guarded(
            lambda: False, lambda: super(TolerantRedisCache, self).touch(key, timeout, version)
        )

    def delete(self, key, version=None):
        self._forget_ahead([key], version)
        return self._guarded(
            lambda: False, lambda: super(TolerantRedisCache, self).delete(key, version)
        )

    def get_many(self, keys, version=None):
        return self._guarded(
            lambda: {}, lambda: super(TolerantRedisCache, self).get_many(keys, version)
        )

    def has_key(self, key, version=None):
        return self._guarded(
            lambda: False, lambda: super(TolerantRedisCache, self).has_key(key, version)
        )

    def incr(self, key, delta=1, version=None):
        self._forget_ahead([key], version)

        def absent():
            # What Django's API says of a key the cache does not hold.
            raise ValueError(f"Key '{key}' not found.")

        return self._guarded(
            absent, lambda: super(TolerantRedisCache, self).incr(key, delta, version)
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        self._forget_ahead(data, version)
        # The keys that were not stored: all of them.
        return self._guarded(
            lambda: list(data),
            lambda: super(TolerantRedisCache, self).set_many(data, timeout, version),
        )

    def delete_many(self, keys, version=None):
        keys = list(keys)
        self._forget_ahead(keys, version)
        return self._guarded(
            lambda: None, lambda: super(TolerantRedisCache, self).delete_many(keys, version)
        )

    def clear(self):
        ahead = _ahead.get()
        if ahead:
            ahead.clear()
        return self._guarded(lambda: False, lambda: super(TolerantRedisCache, self).clear())


def cache_available(alias: str = "default") -> bool:
    """False while the cache's breaker is open (Redis failed within the last
    CACHE_BREAKER_SECONDS): for code that would otherwise wait on the same Redis by
    another way. Costs nothing; a cache without a breaker is always available."""
    backend = caches[alias]
    return not isinstance(backend, TolerantRedisCache) or backend.breaker.closed


class Generation:
    """The current generation of a family of cache entries, which put it in their keys.

    Renewing it makes every entry of the family unreachable at once, in every process
    (they expire in their time), so the next reader computes its entry again: a cache
    that forgets by one write, however many entries it holds. Renewed at once and again
    when the writer's transaction commits, since a reader that computed its entry between
    the two read the rows as they were before the commit. Without the cache (Redis away)
    every reader computes, as it would without this class.
    """

    def __init__(self, key: str):
        self.key = key

    def current(self) -> str:
        generation = cache.get(self.key)
        if generation is None:
            generation = uuid.uuid4().hex
            # add(): two processes starting together agree on one generation.
            if not cache.add(self.key, generation, timeout=None):
                generation = cache.get(self.key) or generation
        return generation

    def _set(self) -> None:
        cache.set(self.key, uuid.uuid4().hex, timeout=None)

    def renew(self, **_signal_kwargs) -> None:
        """Every entry of the family is computed again (a receiver of any signal)."""
        self._set()
        transaction.on_commit(self._set)

    def renew_on(self, *senders: type[models.Model]) -> None:
        """Renew whenever a row of one of `senders` is saved or deleted (with its
        signals), written in bulk (core.signals.bulk_written), and after every migrate
        (a data migration writes through historical models, whose signals are not
        these)."""
        for sender in senders:
            for name, signal in (
                ("saved", post_save),
                ("deleted", post_delete),
                ("bulk", bulk_written),
            ):
                signal.connect(
                    self.renew,
                    sender=sender,
                    weak=False,
                    dispatch_uid=f"{self.key}:{name}:{sender._meta.label}",
                )
        post_migrate.connect(self.renew, weak=False, dispatch_uid=f"{self.key}:migrated")
