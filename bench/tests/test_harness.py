"""`make bench` at a tiny size: every section runs and reports, so the harness keeps
working between the runs that measure. Its figures are not checked against targets
here (a loaded test machine says nothing about speed); that the counts agree is."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Slow: the benchmark harness, run once at a tiny size; `-m "not slow"` skips it.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = [
    "Data generator at tiny",
    "Full roll-up at tiny",
    "Incremental roll-up at tiny",
    "Queries per dashboard page at tiny",
    "Dashboard pages (gunicorn",
    "Visit submissions (the phone form",
    "Mixed load (",
    "A hung Redis (SIGSTOP)",
    "Member import",
    "Streamed CSV export of all visits at tiny",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "tiny.md"
    # Its own database and Redis databases (10, 11): never the suite's or a developer's.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--sizes=tiny",
            "--database=portal_bench_harness",
            "--redis-db=10",
            f"--output={out}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return finished, out


def test_every_section_runs_at_a_tiny_size_and_writes_the_report(tiny_run):
    finished, out = tiny_run
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]
    report = out.read_text()
    assert "FAILED" not in report
    for title in SECTIONS:
        assert f"### {title}" in report, title  # a prefix: some titles go on
    assert "## The machine" in report and "cores: " in report


def test_the_report_s_counts_agree(tiny_run):
    _finished, out = tiny_run
    results = {r["section"]: r for r in json.loads(out.with_suffix(".json").read_text())["results"]}
    full = results["Full roll-up at tiny"]
    assert full["visits"] > 0 and len(full["full_s"]) == 2
    queries = results["Queries per dashboard page at tiny"]
    pages = [queries[page] for page in ("province", "district", "commune")]
    assert all(page["raw"] == 0 and page["cached"] <= page["uncached"] for page in pages)
    assert results["Member import"]["rows"] == 500
    export = results["Streamed CSV export of all visits at tiny"]
    assert export["lines"] > full["visits"]
