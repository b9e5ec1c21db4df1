"""Section 6 and 7: the member import, the streamed visit export, and the exact counters
(queries per dashboard page, peak memory of the processes)."""

import csv
import io
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.text import capfirst

from accounts.models import ScopeLevel, User
from communes.models import Commune, Province
from dashboard.models import PendingRollup
from outreach.imports import (
    COLUMNS_BY_KEY,
    TEMPLATE_COLUMNS,
    member_import_apply,
    member_import_apply_request,
    member_import_check,
    member_import_create,
)
from outreach.models import Member, MemberImport, Team, Visit

from .harness import Context, Result, Timing

ROOT = Path(__file__).resolve().parents[1]
IMPORT_ROWS = 16_000
IMPORT_TARGET_S = 60.0
TEAM_PREFIX = "Tổ đo kiểm"
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hòa", "Khánh", "Lan", "Minh", "Nam", "Thảo")


def bench_superuser() -> User:
    user, _created = User.objects.get_or_create(
        username="bench-admin",
        defaults={"is_superuser": True, "is_staff": True, "full_name": "Đo kiểm (bench)"},
    )
    return user


def bench_province_user() -> User:
    """Provincial staff, the dashboards' heaviest reader."""
    province = Province.objects.get()
    user, _created = User.objects.get_or_create(
        username="bench-reader",
        defaults={
            "full_name": "Cán bộ tỉnh (bench)",
            "scope_level": ScopeLevel.PROVINCE,
            "scope_province": province,
        },
    )
    from accounts.services import user_role_sync

    user_role_sync(user=user)
    return user


def member_file(rows: int = IMPORT_ROWS) -> bytes:
    """A province's roster of new teams, ten members each, leader first, as CSV."""
    communes = list(Commune.objects.order_by("code").values_list("code", "name"))
    out = io.StringIO()
    writer = csv.writer(out)
    # The headers of the import's own template, in Vietnamese as a commune's file has them.
    with translation.override("vi"):
        writer.writerow([capfirst(str(COLUMNS_BY_KEY[key].label)) for key in TEMPLATE_COLUMNS])
    for n in range(rows):
        team, seat = divmod(n, 10)
        writer.writerow(
            [
                *communes[team % len(communes)],
                f"{TEAM_PREFIX} {team + 1}",
                "",
                f"{SURNAMES[n % 10]} Văn {GIVEN[n % 12]} {n + 1}",
                "Nam" if n % 2 else "Nữ",
                1980 + n % 25,
                f"07{n:08d}",
                "Tổ trưởng" if seat == 0 else "Thành viên",
                "có" if n % 3 else "không",
                "Đoàn thanh niên",
                "",
                "",
                "01/03/2026",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode()


def _import_remove() -> None:
    teams = Team.objects.filter(name__startswith=TEAM_PREFIX)
    Member.objects.filter(team__in=teams).delete()
    teams.delete()
    MemberImport.objects.all().delete()
    PendingRollup.objects.all().delete()


def import_section(ctx: Context) -> Result:
    result = Result("Member import")
    rows = 500 if ctx.tiny else IMPORT_ROWS
    content = member_file(rows)
    by = bench_superuser()
    checks, applies = [], []
    reps = ctx.reps if ctx.tiny else ctx.heavy_reps
    # Without a warm-up when the repetitions are few: each is a province-sized file.
    warmup = 1 if reps >= 3 else 0
    for rep in range(reps + warmup):
        _import_remove()
        member_import = member_import_create(
            by=by,
            file_name="bench.csv",
            content=content,
            create_logins=False,
            language="vi",
        )
        started = time.perf_counter()
        member_import_check(member_import)
        checked = time.perf_counter() - started
        member_import.refresh_from_db()
        if member_import.status != MemberImport.Status.CHECKED:
            errors = (member_import.result or {}).get("errors", [])[:5]
            raise RuntimeError(f"the bench file did not check: {errors}")
        member_import_apply_request(member_import=member_import)
        member_import.refresh_from_db()
        started = time.perf_counter()
        member_import_apply(member_import)
        applied = time.perf_counter() - started
        member_import.refresh_from_db()
        if member_import.status != MemberImport.Status.DONE:
            errors = (member_import.result or {}).get("errors", [])[:5]
            raise RuntimeError(f"the bench file did not apply: {errors}")
        stored = Member.objects.filter(team__name__startswith=TEAM_PREFIX).count()
        if stored != rows:
            raise RuntimeError(f"{stored} members stored, not {rows}")
        if rep >= warmup:
            checks.append(checked)
            applies.append(applied)
    _import_remove()
    check, apply = Timing(checks), Timing(applies)
    total = Timing([c + a for c, a in zip(checks, applies, strict=True)])
    result.add(f"check of a {rows:,}-row file (preview)", check.s())
    result.add("apply of the same file (one transaction)", apply.s())
    result.add(
        "check and apply",
        total.s(),
        f"< {IMPORT_TARGET_S:.0f} s for {IMPORT_ROWS:,} rows",
        total.median < IMPORT_TARGET_S if rows == IMPORT_ROWS else None,
    )
    result.figures.update(rows=rows, check_s=checks, apply_s=applies)
    return result


# --- The streamed export, in a process of its own so its memory is its own ------------------


def export_section(ctx: Context) -> Result:
    result = Result(f"Streamed CSV export of all visits at {ctx.size}")
    bench_province_user()
    visits = Visit.objects.count()
    samples, figures = [], None
    reps = ctx.reps if ctx.tiny else ctx.heavy_reps
    # Each read of a province's visits takes minutes: no warm-up beyond the first.
    warmup = 1 if ctx.tiny else 0
    for rep in range(reps + warmup):
        out = subprocess.run(
            [sys.executable, "-m", "bench.export_probe"],
            cwd=ROOT,
            env={**os.environ, **ctx.env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        status, lines, size, seconds, baseline, peak, high, low = out[-8:]
        if int(status) != 200 or int(lines) != visits + 1:
            raise RuntimeError(f"export answered {status} with {lines} lines for {visits} visits")
        if rep >= warmup:
            samples.append(float(seconds))
        figures = {
            "lines": int(lines),
            "mb": int(size) / 2**20,
            "baseline_mb": float(baseline),
            "peak_mb": float(peak),
            "rss_high_mb": float(high),
            "rss_low_mb": float(low),
        }
    timing = Timing(samples)
    rate = visits / timing.median
    result.add("visits exported", f"{visits:,} rows, {figures['mb']:,.0f} MB of CSV")
    result.add("time to stream them", f"{timing.s()}, {rate:,.0f} rows/s")
    result.add(
        "process memory during the export",
        f"{figures['rss_low_mb']:,.0f}–{figures['rss_high_mb']:,.0f} MB "
        f"(before it {figures['baseline_mb']:,.0f} MB; peak {figures['peak_mb']:,.0f} MB)",
        "flat",
        figures["rss_high_mb"] - figures["rss_low_mb"] < 50,
    )
    result.figures.update(figures, seconds=samples)
    return result


# --- Counters -------------------------------------------------------------------------------


def _page_paths() -> dict[str, str]:
    busiest = (
        Commune.objects.filter(teams__isnull=False).order_by("-households", "code").first()
        or Commune.objects.order_by("code").first()
    )
    return {
        "province": "/dashboard/",
        "district": f"/dashboard/district/{busiest.district.code}/",
        "commune": f"/dashboard/commune/{busiest.code}/",
    }


def queries_section(ctx: Context) -> Result:
    """Queries per dashboard page, uncached (a period nobody asked for yet, once the page
    has been seen since the last roll-up: what a roll-up renews is read once per version
    by whoever comes first) and cached."""
    result = Result(f"Queries per dashboard page at {ctx.size}")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(bench_province_user())
    for page, path in _page_paths().items():
        client.get(path, HTTP_ACCEPT_LANGUAGE="vi")
        fresh = f"?period=custom&start=2025-01-01&end=2026-{uuid.uuid4().int % 9 + 1:02d}-28"
        counts = {}
        for name, query in (("uncached", fresh), ("cached", fresh)):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path + query, HTTP_ACCEPT_LANGUAGE="vi")
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            sqls = [q["sql"] for q in captured.captured_queries]
            raw = [s for s in sqls if re.search(r'"outreach_visit\w*"', s)]
            counts[name] = (len(sqls), len(raw))
        (uncached, raw_uncached), (cached, raw_cached) = counts["uncached"], counts["cached"]
        result.add(
            f"{page} page, uncached / cached",
            f"{uncached} / {cached} queries; on the raw visit tables: {raw_uncached + raw_cached}",
            "≤ 6, none on raw visits",
            uncached <= 6 and raw_uncached + raw_cached == 0,
        )
        result.figures[page] = {"uncached": uncached, "cached": cached, "raw": raw_uncached}
    return result


def child_peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; (its peak resident memory in MB, seconds, its output)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{output[-2000:]}")
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, seconds, output
