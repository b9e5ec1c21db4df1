"""What every benchmark section shares: the run's context, repeated timings and their
statistics, and the result a section hands to the report.

A section is a function `section(ctx: Context) -> Result`. It runs against the bench
database (ctx.env names it), warms up first, repeats its measurement ctx.reps times and
reports the median and the spread (min to max) of the repetitions. Targets are never
asserted: a section states its figure, the target and whether it was met.
"""

import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Context:
    """One run of the harness, at one size."""

    size: str  # "tiny", "S", "M" or "L"
    visits: int
    reps: int = 5
    # Repetitions of the measurements that take minutes each at this size (the full
    # roll-up at M, 100,000-visit bursts, the province-sized import and export): fewer,
    # so that a run fits in an hour; the report gives n beside every figure.
    heavy_reps: int = 5
    # Seconds each fixed-rate load step lasts; the mixed hour lasts `mixed_seconds`.
    step_seconds: float = 10.0
    mixed_seconds: float = 60.0
    # The environment of the processes a section starts (gunicorn, Celery): the bench
    # database, its Redis databases and the production settings' variables.
    env: dict[str, str] = field(default_factory=dict)
    workdir: Path = Path("build/bench")
    tiny: bool = False
    # What a section leaves for later ones (users made, saturation measured...).
    shared: dict = field(default_factory=dict)


@dataclass
class Row:
    """One line of a section's table."""

    measure: str
    value: str
    target: str = ""
    met: bool | None = None  # None: no target


@dataclass
class Result:
    section: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Raw figures by name, for the JSON beside the report and for other sections.
    figures: dict = field(default_factory=dict)

    def add(self, measure: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(measure, value, target, met))


@dataclass
class Timing:
    """Repeated measurements of one thing, in seconds."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    def ms(self) -> str:
        """'12.3 ms (11.9–13.0, n=5)'"""
        return (
            f"{self.median * 1000:,.1f} ms ({self.low * 1000:,.1f}–{self.high * 1000:,.1f}, "
            f"n={len(self.samples)})"
        )

    def s(self) -> str:
        return f"{self.median:,.2f} s ({self.low:,.2f}–{self.high:,.2f}, n={len(self.samples)})"


def repeat(
    run: Callable[[], object],
    *,
    reps: int,
    warmup: int = 1,
    before: Callable[[], object] | None = None,
) -> Timing:
    """Time `run` reps times after `warmup` untimed runs; `before` runs untimed each time."""
    samples = []
    for index in range(warmup + reps):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
        if index >= warmup:
            samples.append(elapsed)
    return Timing(samples)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of the values (share 0.95 for p95)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def peak_rss_mb() -> float:
    """This process's peak resident memory."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of another process, from /proc."""
    current = peak = 0.0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return current, peak


def cores() -> int:
    return len(os.sched_getaffinity(0))
