"""The HTTP sections at a tiny size, against a scratch database of their own.

gunicorn and the Celery worker are other processes: they cannot see a test's
transaction, so this test uses no test database at all. It creates (once) and migrates
`portal_bench_test`, fills it with generate_load, and points this process's connection
at it for the sections' own reads and writes; Redis database 12 is its broker and cache.
Only that the sections run and count right is checked, never their timings.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from bench import web
from bench.harness import Context, Result
from bench.processes import Server

# Slow: the benchmark harness, run once at a tiny size; `-m "not slow"` skips it.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "portal_bench_test"
SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/12"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _manage(*args: str, env: dict[str, str]) -> None:
    finished = subprocess.run(
        # `-m bench.generate_load` or a manage.py command.
        [sys.executable, *(args if args[0] == "-m" else ("manage.py", *args))],
        cwd=ROOT,
        env={**os.environ, **env, "REDIS_URL": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr


@pytest.fixture(scope="module")
def bench_ctx(django_db_blocker):
    if not (_listening(5432) and _listening(6379)):
        pytest.fail("PostgreSQL and Redis must answer on 127.0.0.1 (.ci/run starts them)")
    admin = psycopg2.connect(f"{SERVER}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    admin.close()
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-test-secret-key-not-used-anywhere-else-0123456789",
        "SECURE_HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "ALLOW_DEMO_DATA": "true",
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "REDIS_URL": REDIS_URL,
        "REDIS_CACHE_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
    }
    _manage("migrate", "--noinput", env=env)
    _manage(
        "-m",
        "bench.generate_load",
        "--visits",
        "2000",
        "--households",
        "3000",
        "--force",
        "--rollup",
        env=env,
    )
    ctx = Context(
        size="tiny",
        visits=2000,
        reps=1,
        step_seconds=0.5,
        mixed_seconds=3.0,
        env=env,
        workdir=ROOT / "build" / "bench-test",
        tiny=True,
    )
    # This process reads and writes the bench database too, as the orchestrator does.
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
        connection.close()
        connection.settings_dict["NAME"] = DATABASE
        try:
            # One server for the three sections: starting gunicorn is most of a tiny run.
            with Server(ctx) as server:
                ctx.shared["server"] = server
                yield ctx
        finally:
            connection.close()
            connection.settings_dict["NAME"] = name


def _measures(result: Result) -> list[str]:
    return [row.measure for row in result.rows]


def test_dashboard_section_measures_every_page_uncached_and_cached(bench_ctx):
    result = web.dashboard_section(bench_ctx)

    pages = result.figures["pages"]
    assert list(pages)[0] == "province" and len(pages) == 3
    for label, page in pages.items():
        for kind in ("uncached", "cached"):
            assert page[kind]["saturation"][0] > 0, (label, kind)
            assert page[kind]["at_target"]["answers"] > 0, (label, kind)
            assert page[kind]["at_50"]["answers"] > 0, (label, kind)
            assert f"{label} {kind}: saturation" in _measures(result)
    assert result.figures["healthz"]["at_rate"]["answers"] > 0
    assert pages["province"]["uncached"]["at_new_period_rate"]["answers"] > 0
    assert result.figures["live_from_raw_s"][0] > 0
    assert "Live from raw / province page uncached p50 at 5 req/s" in _measures(result)
    in_process = result.figures["in_process"]
    assert in_process["page_ms"] > 0 and in_process["healthz_ms"] > 0
    assert in_process["ratio"] == in_process["page_ms"] / in_process["healthz_ms"]
    assert result.figures["cached_ratio"] > 0
    assert result.figures["gunicorn_peak_rss_mb"] > 0


def test_submission_section_stores_every_successful_post(bench_ctx):
    result = web.submission_section(bench_ctx)

    figures = result.figures
    assert figures["successful"] > 0
    assert figures["stored"] == figures["successful"]
    assert figures["saturation"][0] > 0
    assert "Visits stored / successful submissions" in _measures(result)


def test_mixed_section_rolls_up_while_serving(bench_ctx):
    result = web.mixed_section(bench_ctx)

    figures = result.figures
    assert figures["dashboard"]["answers"] > 0
    assert figures["successful"] > 0
    assert figures["stored"] == figures["successful"]
    # The worker rolled up what the submissions marked, and nothing was left behind.
    assert figures["rollups"] >= 1
    assert figures["drained"]
    assert figures["staleness_samples"]
    assert figures["worker_task_peak_rss_mb"] > 0
