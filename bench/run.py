"""`make bench`: measure the portal at province scale and write docs/benchmarks.md.

    python -m bench.run --sizes S,M            # the reference run
    python -m bench.run --sizes tiny --output build/bench/tiny.md   # what `make test` runs

For each size it generates the load (generate_load, in a process of its own so that its
memory is its own), runs one full roll-up, then the size's sections: the full roll-up
against the SQL floor and the incremental roll-ups (in the database, and end to end
through Redis and a real worker). At the largest size it also runs the dashboard pages,
the submissions and the mixed hour under gunicorn, the same pages with a hung Redis (a
Redis of its own, stopped), the member import, the streamed export and the counters.
Every section warms up, then repeats; nothing is asserted: the report states each
figure, its target and whether it was met.

It works on a database of its own (portal_bench by default, created if missing) and
on Redis databases of its own, with the production settings; it never touches the
development or test databases.
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"tiny": 3_000, "S": 500_000, "M": 5_000_000, "L": 20_000_000}
TINY_LOAD = ["--households=4000", "--teams=60", "--members=420"]
# A fixed last day, so that the same seed gives the same load whenever it runs.
END_DATE = "2026-11-30"
SEED = 1


def bench_env(database: str, redis_db: int) -> dict[str, str]:
    """The production settings on the bench's own database and Redis databases; only
    the HTTPS-only flags are off, for plain HTTP on loopback (the report says so)."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "SECURE_HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "ALLOW_DEMO_DATA": "true",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "REDIS_CACHE_URL": f"redis://127.0.0.1:6379/{redis_db + 1}",
        "LOG_LEVEL": "WARNING",
        # The manifest storage needs the files collected, in this process and gunicorn's.
        "STATIC_ROOT": str(ROOT / "build" / "bench" / "static"),
    }


def database_ensure(name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def machine() -> dict[str, str]:
    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    def version(args: list[str]) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "cpu": first("/proc/cpuinfo", "model name"),
        "cores": str(len(os.sched_getaffinity(0))),
        "memory": first("/proc/meminfo", "MemTotal"),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": postgres,
        "redis": version(["redis-server", "--version"]).split(" sha=")[0],
    }


def generate(ctx, size: str) -> "Result":  # noqa: F821 - imported after django.setup()
    from .data import child_peak_rss_mb
    from .harness import Result

    args = [
        sys.executable,
        "-m",
        "bench.generate_load",
        f"--visits={ctx.visits}",
        f"--seed={SEED}",
        f"--end-date={END_DATE}",
        "--force",
        *(TINY_LOAD if size == "tiny" else []),
    ]
    peak, seconds, output = child_peak_rss_mb(args, ctx.env)
    result = Result(f"Data generator at {size}")
    total = re.search(r"total: ([\d,]+) rows in ([\d.]+) s", output)
    rows = int(total.group(1).replace(",", "")) if total else 0
    load_seconds = float(total.group(2)) if total else seconds
    phase = re.search(r"visits, their members and services\s+([\d.]+)", output)
    phase = phase.group(1) if phase else "?"
    result.add("visits", f"{ctx.visits:,}")
    result.add("rows written, all tables", f"{rows:,} ({rows / load_seconds:,.0f} rows/s)")
    result.add(
        "time to generate",
        f"{load_seconds:,.1f} s (the visits' phase {phase} s)",
        "< 2 min for M",
        load_seconds < 120 if size == "M" else None,
    )
    result.add("peak memory of the generator", f"{peak:,.0f} MB", "< 500 MB", peak < 500)
    phases = [line.strip() for line in output.splitlines() if re.match(r"\s+\S.*\s[\d.]+\s", line)]
    result.figures.update(rows=rows, seconds=load_seconds, peak_mb=peak, phases=phases)
    return result


def rollup_task_memory(ctx) -> tuple[float, float]:
    """Peak memory and wall time of a full roll-up run by itself, as the nightly task
    runs it (the time includes the process's start, about two seconds)."""
    from .data import child_peak_rss_mb

    peak, seconds, _output = child_peak_rss_mb(
        [sys.executable, "manage.py", "rollup", "--full"], ctx.env
    )
    return peak, seconds


def settle_database() -> None:
    """Vacuum and analyse every table after the load and the full roll-up (untimed), as
    autovacuum would have within its minute. PostgreSQL here runs with autovacuum off:
    without statistics the planner took a whole period's day rows for a few hundred
    (run 6: the province page's services read 612,729 rows to keep 78,179)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def sections_for(size: str, last: bool) -> list[str]:
    names = ["full", "incremental"]
    if last:
        names += ["queries", "dashboard", "submission", "mixed", "outage", "import", "export"]
    return names


def run_section(name: str, ctx, worker=None):
    from . import data, outage, rollups, web

    started = time.monotonic()
    try:
        if name == "incremental":
            result = rollups.incremental_section(ctx, worker)
        else:
            function = {
                "full": rollups.full_section,
                "queries": data.queries_section,
                "dashboard": web.dashboard_section,
                "submission": web.submission_section,
                "mixed": web.mixed_section,
                "outage": outage.outage_section,
                "import": data.import_section,
                "export": data.export_section,
            }[name]
            result = function(ctx)
    except Exception:
        from .harness import Result

        result = Result(f"{name} at {ctx.size}: FAILED")
        result.notes.append("```\n" + traceback.format_exc()[-3000:] + "```")
        result.figures["failed"] = True
    result.figures["section_seconds"] = time.monotonic() - started
    print(format_result(result), flush=True)
    return result


def format_result(result) -> str:
    lines = [f"### {result.section}", "", "| measure | value | target | met |", "|---|---|---|---|"]
    for row in result.rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.measure} | {row.value} | {row.target} | {met} |")
    lines += ["", *result.notes, ""]
    return "\n".join(lines)


def report(results, *, sizes, info, started, memory, args, args_heavy="--heavy-reps") -> str:
    failed = [r for r in results if r.figures.get("failed")]
    misses = [(r.section, row) for r in results for row in r.rows if row.met is False]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m bench.run {' '.join(args)}`) on "
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; the run took "
        f"{(time.monotonic() - started) / 60:,.1f} minutes. Sizes run: {', '.join(sizes)}"
        f"{'' if 'L' in sizes else ' (L, 20 million visits, was not run)'}.",
        "",
        "## The machine",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        "",
        "## How it was measured",
        "",
        "- Data: `python -m bench.generate_load` with seed 1 and the last day "
        f"{END_DATE}, into a database of the bench's own, with the production settings "
        "(DEBUG off, Redis broker and cache, database sessions, CSRF). Only the HTTPS-only "
        "flags are relaxed (SECURE_HTTPS=false), because the load travels plain HTTP on "
        "loopback.",
        "- Every figure: a warm-up run first, then the median and the spread (lowest to "
        "highest) of the repetitions, n given beside it; the measurements that take "
        "minutes at M (full roll-up, 100,000-visit bursts, import, export) repeat "
        f"{args_heavy} times and skip the warm-up when that is once.",
        "- HTTP: gunicorn (2 processes × 4 threads) and the open-loop load generator of "
        "`bench/loadgen.py`, pinned to core 0: requests leave at fixed intervals and "
        "latency counts from the planned start, so a slow server cannot hide its queue.",
        "- Targets are never asserted in the test suite; `make test` runs this harness "
        "once at a tiny size so that it keeps working.",
        "",
        "## Summary",
        "",
    ]
    if failed:
        lines += [f"- **Failed sections:** {', '.join(r.section for r in failed)}", ""]
    if misses:
        lines += ["Targets missed:", ""]
        lines += [
            f"- {section}: {row.measure}: {row.value} (target {row.target})"
            for section, row in misses
        ]
        lines.append("")
    else:
        lines += ["Every target measured in this run was met.", ""]
    if memory:
        lines += ["The roll-up task running a full roll-up in a process of its own:", ""]
        lines += [
            f"- {size}: peak {mb:,.0f} MB (target ≤ 200 MB), {seconds:,.1f} s (facts' check "
            "and rebuild, with the process's start)"
            for size, (mb, seconds) in memory.items()
        ]
        lines.append("")
    lines += ["## Results", ""]
    lines += [format_result(r) for r in results]
    analysis = ROOT / "docs" / "benchmarks-analysis.md"
    if analysis.exists():
        lines += ["", analysis.read_text()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="S,M", help="Comma-separated: tiny, S, M, L.")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--heavy-reps",
        type=int,
        default=None,
        help="Repetitions of the measurements that take minutes at M (default: --reps).",
    )
    parser.add_argument("--database", default=None, help="Default portal_bench[_tiny].")
    parser.add_argument("--redis-db", type=int, default=8, help="Broker; the cache takes +1.")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--sections", default="", help="Only these (comma-separated).")
    parser.add_argument("--skip-generate", action="store_true", help="Reuse the loaded data.")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]}; choose from {', '.join(SIZES)}")
    tiny = sizes == ["tiny"]
    database = args.database or ("portal_bench_tiny" if tiny else "portal_bench")
    env = bench_env(database, args.redis_db)
    os.environ.update(env)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    database_ensure(database)

    import django

    django.setup()
    from django.core.management import call_command

    from .harness import Context
    from .processes import Worker

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.monotonic()
    info = machine()
    print("Machine:", json.dumps(info), flush=True)
    workdir = ROOT / "build" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    only = {s for s in args.sections.split(",") if s}
    results, memory = [], {}
    for index, size in enumerate(sizes):
        ctx = Context(
            size=size,
            visits=SIZES[size],
            reps=2 if tiny else args.reps,
            heavy_reps=2 if tiny else (args.heavy_reps or args.reps),
            # The tiny run checks the steps work, not what they measure.
            step_seconds=1.0 if tiny else 10.0,
            mixed_seconds=5.0 if tiny else 60.0,
            env=env,
            workdir=workdir,
            tiny=tiny,
        )
        if not args.skip_generate:
            print(f"Generating {size} ({ctx.visits:,} visits)...", flush=True)
            results.append(generate(ctx, size))
            print(format_result(results[-1]), flush=True)
        memory[size] = rollup_task_memory(ctx)
        settle_database()
        for name in sections_for(size, index == len(sizes) - 1):
            if only and name not in only:
                continue
            if name == "incremental":
                with Worker(ctx) as worker:
                    results.append(run_section(name, ctx, worker))
                    results[-1].add(
                        "peak memory of the worker's task process",
                        f"{worker.task_peak_rss_mb():,.0f} MB",
                        "≤ 200 MB",
                        worker.task_peak_rss_mb() <= 200,
                    )
            else:
                results.append(run_section(name, ctx))
    text = report(
        results,
        sizes=sizes,
        info=info,
        started=started,
        memory=memory,
        args=sys.argv[1:],
        args_heavy=str(2 if tiny else (args.heavy_reps or args.reps)),
    )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    output.with_suffix(".json").write_text(
        json.dumps(
            {"machine": info, "results": [r.figures | {"section": r.section} for r in results]},
            indent=1,
            default=str,
        )
    )
    print(f"Wrote {output}", flush=True)
    return 1 if any(r.figures.get("failed") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
