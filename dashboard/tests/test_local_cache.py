"""The dashboards keep their own copies of the cache entries they read (every key names a
roll-up version): a page seen since the roll-up reads Redis only for what changes."""

import threading
import time

import pytest

from dashboard.selectors import units
from dashboard.selectors.units import LOCAL_ENTRIES, LOCAL_SECONDS, _cached


class Counting:
    """The shared cache, counting its reads."""

    def __init__(self, cache):
        self.cache, self.reads = cache, 0

    def get(self, key, default=None):
        self.reads += 1
        return self.cache.get(key, default)

    def set(self, key, value, timeout=None):
        self.cache.set(key, value, timeout)


def test_an_entry_read_once_is_served_from_the_process_until_its_minute_is_over(monkeypatch):
    shared = Counting(units.cache)
    monkeypatch.setattr(units, "cache", shared)
    clock = [1000.0]
    monkeypatch.setattr(units.time, "monotonic", lambda: clock[0])
    computed = []

    def compute():
        computed.append(1)
        return {"visits": 5}

    assert _cached("dashboard:test:v1:figures", compute) == {"visits": 5}
    assert _cached("dashboard:test:v1:figures", compute) == {"visits": 5}
    assert (len(computed), shared.reads) == (1, 1)

    # Past its minute the process asks the shared cache again, which still has it.
    clock[0] += LOCAL_SECONDS + 1
    assert _cached("dashboard:test:v1:figures", compute) == {"visits": 5}
    assert (len(computed), shared.reads) == (1, 2)

    # Another version is another key: computed, never the old copy.
    assert _cached("dashboard:test:v2:figures", lambda: {"visits": 7}) == {"visits": 7}


def test_the_process_keeps_only_the_latest_entries():
    for n in range(LOCAL_ENTRIES + 10):
        _cached(f"dashboard:test:v1:page{n}", lambda n=n: n)
    assert len(units._local) == LOCAL_ENTRIES
    assert "dashboard:test:v1:page0" not in units._local
    assert f"dashboard:test:v1:page{LOCAL_ENTRIES + 9}" in units._local


def test_an_entry_missing_for_several_requests_at_once_is_computed_once():
    """Right after a roll-up every page read misses its new entry together: one request
    computes it, the others wait for it and read its copy."""
    computed = []

    def compute():
        computed.append(1)
        time.sleep(0.2)  # the figures of a page at M take about this long
        return {"visits": 7}

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(_cached("dashboard:test:v9:f", compute)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"visits": 7}] * 6
    assert len(computed) == 1


def test_when_the_computation_fails_the_next_request_computes_again():
    def failing():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        _cached("dashboard:test:v10:f", failing)
    assert _cached("dashboard:test:v10:f", lambda: {"visits": 1}) == {"visits": 1}
