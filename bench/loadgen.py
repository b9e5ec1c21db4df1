"""An HTTP load generator for loopback: a fixed arrival rate (open loop) or a saturation
run (closed loop), in a subprocess pinned to core 0.

Open loop, as wrk2 does it: request i is due at start + i / rate whatever happened to the
ones before, and its latency is measured from that due time, not from when a connection
was free to send it. A server that stalls for a second therefore shows a second of
latency on every request that was due during the stall, instead of the generator
quietly waiting and sending fewer requests (coordinated omission).

Closed loop: C connections each send the next request as soon as the last answer is in,
for N seconds; the answers per second are the server's saturation throughput.

How: asyncio streams with raw keep-alive HTTP/1.1, one coroutine per connection, in a
child process pinned to core 0 (os.sched_setaffinity), so the generator never competes
with itself for the GIL of the orchestrator and gunicorn's workers mostly get core 1
(the scheduler moves them, nothing pins them; Postgres shares both cores). Measured on
this machine against a trivial asyncio server on core 1: ~3,400 requests/s closed loop
with 16 connections; open loop, 1,500/s held with a p50 of 1.1 ms and the dispatcher at
most 1.5 ms late at p99, 3,000/s with it 10 ms late at p99. The generator is not what
limits Django's few hundred answers per second.

Bounded: only 127.0.0.1, at most MAX_SECONDS per run and MAX_REQUESTS requests.

Requests come from templates, since a callable cannot cross into the subprocess: each
template has a label, a method, the paths it cycles through, headers (the Cookie of a
session), and a body in which `{uuid}` becomes a fresh UUID and `{n}` a counter unique
within the run, for POSTs that must each be new.
"""

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
MAX_SECONDS = 3600
MAX_REQUESTS = 2_000_000
# Time for the answers still in flight when the schedule ends.
DRAIN_SECONDS = 10.0
REQUEST_TIMEOUT = 30.0


@dataclass
class Template:
    label: str
    paths: list[str]
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    # Its share of an open-loop schedule that mixes several templates.
    weight: int = 1


@dataclass
class LabelResult:
    """What one template's requests got."""

    latencies: list[float] = field(default_factory=list)  # seconds, completed requests
    statuses: dict[str, int] = field(default_factory=dict)  # "200": 1234
    errors: dict[str, int] = field(default_factory=dict)  # exception name: count
    sent: int = 0

    @property
    def completed(self) -> int:
        return len(self.latencies)

    def count(self, *statuses: int) -> int:
        return sum(self.statuses.get(str(status), 0) for status in statuses)


@dataclass
class LoadResult:
    mode: str  # "rate" or "saturation"
    seconds: float  # the run's wall time, from the first due time to the last answer
    rate: float | None  # the arrival rate asked for (open loop)
    connections: int
    labels: dict[str, LabelResult]
    # How late the open-loop dispatcher handed out due requests: if this grows, the
    # generator itself could not keep up and the rate was not what was asked.
    dispatch_lag_max: float = 0.0
    dispatch_lag_p99: float = 0.0
    # Requests still unanswered when the drain time ran out.
    unfinished: int = 0

    @property
    def latencies(self) -> list[float]:
        return [x for label in self.labels.values() for x in label.latencies]

    @property
    def completed(self) -> int:
        return sum(label.completed for label in self.labels.values())

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0

    def count(self, *statuses: int) -> int:
        return sum(label.count(*statuses) for label in self.labels.values())

    @property
    def errors(self) -> int:
        return sum(sum(label.errors.values()) for label in self.labels.values())


# --- The parent's side ------------------------------------------------------------------


class Running:
    """A load run in its subprocess; `wait()` returns its LoadResult."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.process.stdin.write(json.dumps(spec))
        self.process.stdin.close()

    def done(self) -> bool:
        return self.process.poll() is not None

    def wait(self) -> LoadResult:
        limit = self.spec["seconds"] + _drain_seconds(self.spec["seconds"]) + 60
        try:
            out = self.process.stdout.read()
            err = self.process.stderr.read()
            self.process.wait(timeout=limit)
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise
        if self.process.returncode != 0:
            raise RuntimeError(f"the load generator failed ({self.process.returncode}):\n{err}")
        return _result_from(json.loads(out))


def _spec(
    base_url: str, templates: list[Template], seconds: float, connections: int, **extra
) -> dict:
    parts = urlsplit(base_url)
    if parts.hostname != "127.0.0.1" or parts.scheme != "http":
        raise ValueError("The load generator only talks to http://127.0.0.1.")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"A load run lasts at most {MAX_SECONDS} s.")
    if not templates or any(not t.paths for t in templates):
        raise ValueError("Give at least one template, each with at least one path.")
    return {
        "host": "127.0.0.1",
        "port": parts.port or 80,
        "templates": [asdict(t) for t in templates],
        "seconds": seconds,
        "connections": max(1, connections),
        **extra,
    }


def start_rate(
    base_url: str,
    templates: list[Template],
    *,
    rate: float,
    seconds: float,
    connections: int | None = None,
) -> Running:
    """Start an open-loop run at `rate` requests per second, templates mixed by weight."""
    if rate <= 0 or rate * seconds > MAX_REQUESTS:
        raise ValueError(f"A load run sends between 1 and {MAX_REQUESTS:,} requests.")
    if connections is None:
        # Enough that a connection is almost always free when a request is due at a
        # few tens of milliseconds per answer; more would only queue inside gunicorn.
        connections = min(64, max(4, math.ceil(rate / 10)))
    return Running(_spec(base_url, templates, seconds, connections, mode="rate", rate=float(rate)))


def run_rate(base_url: str, templates: list[Template], **options) -> LoadResult:
    return start_rate(base_url, templates, **options).wait()


def run_saturation(
    base_url: str, templates: list[Template], *, connections: int, seconds: float
) -> LoadResult:
    """Closed loop: `connections` clients as fast as the server answers, for `seconds`."""
    return Running(_spec(base_url, templates, seconds, connections, mode="saturation")).wait()


def _result_from(data: dict) -> LoadResult:
    labels = {name: LabelResult(**values) for name, values in data.pop("labels").items()}
    return LoadResult(labels=labels, **data)


# --- The child's side -------------------------------------------------------------------


class _Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            # Requests are written in one piece: waiting for more would only add latency.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, raw: bytes) -> int:
        """Send one request, read the whole answer; returns its status."""
        if self.writer is None:
            await self.open()
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif status not in (204, 304) and not 100 <= status < 200:
            await self.reader.read()  # delimited by the close
            headers["connection"] = "close"
        if headers.get("connection") == "close":
            self.close()
        return status


class _Plan:
    """The templates as ready-to-send bytes, with their placeholders filled per request."""

    def __init__(self, spec: dict):
        self.host = f"{spec['host']}:{spec['port']}"
        self.templates = spec["templates"]
        self.cursor = [0] * len(self.templates)
        self.counter = 0
        self.run_tag = uuid.uuid4().hex[:8]
        weights = [max(1, int(t.get("weight", 1))) for t in self.templates]
        self.order = _smooth_round_robin(weights)

    def request(self, index: int) -> tuple[str, bytes]:
        template = self.templates[index]
        paths = template["paths"]
        path = paths[self.cursor[index] % len(paths)]
        self.cursor[index] += 1
        self.counter += 1
        body = template.get("body", "")
        if body:
            body = body.replace("{uuid}", str(uuid.uuid4())).replace(
                "{n}", f"{self.run_tag}-{self.counter}"
            )
        encoded = body.encode()
        lines = [f"{template['method']} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in template.get("headers", {}).items()]
        if encoded or template["method"] in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(encoded)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + encoded
        return template["label"], raw


def _smooth_round_robin(weights: list[int]) -> list[int]:
    """One cycle of template indices in which each appears `weight` times, spread out."""
    current = [0] * len(weights)
    total = sum(weights)
    order = []
    for _step in range(total):
        for i, weight in enumerate(weights):
            current[i] += weight
        best = max(range(len(weights)), key=lambda i: current[i])
        current[best] -= total
        order.append(best)
    return order


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))]


class _Recorder:
    def __init__(self, templates: list[dict]):
        self.labels = {t["label"]: LabelResult() for t in templates}

    def sent(self, label: str) -> None:
        self.labels[label].sent += 1

    def done(self, label: str, status: int, latency: float) -> None:
        result = self.labels[label]
        result.latencies.append(round(latency, 6))
        result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1

    def failed(self, label: str, exc: BaseException) -> None:
        errors = self.labels[label].errors
        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1


async def _attempt(connection: _Connection, raw: bytes) -> int:
    try:
        return await asyncio.wait_for(connection.exchange(raw), REQUEST_TIMEOUT)
    except BaseException:
        # Whatever state the stream is in, the next request gets a fresh connection.
        connection.close()
        raise


async def _open_loop(spec: dict) -> dict:
    loop = asyncio.get_running_loop()
    plan, recorder = _Plan(spec), _Recorder(spec["templates"])
    rate, seconds = spec["rate"], spec["seconds"]
    total = max(1, round(rate * seconds))
    due: asyncio.Queue = asyncio.Queue()
    lags: list[float] = []
    in_flight = [0]

    async def client() -> None:
        connection = _Connection(spec["host"], spec["port"])
        try:
            while True:
                item = await due.get()
                if item is None:
                    return
                at, label, raw = item
                recorder.sent(label)
                try:
                    status = await _attempt(connection, raw)
                except Exception as exc:
                    recorder.failed(label, exc)
                else:
                    recorder.done(label, status, loop.time() - at)
                finally:
                    in_flight[0] -= 1
        finally:
            connection.close()

    clients = [asyncio.create_task(client()) for _ in range(spec["connections"])]
    start = loop.time() + 0.05
    for i in range(total):
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(max(0.0, loop.time() - at))
        label, raw = plan.request(plan.order[i % len(plan.order)])
        in_flight[0] += 1
        due.put_nowait((at, label, raw))
    for _client in clients:
        due.put_nowait(None)
    _done, pending = await asyncio.wait(clients, timeout=_drain_seconds(seconds))
    for task in pending:
        task.cancel()
    elapsed = loop.time() - start
    return {
        "mode": "rate",
        "seconds": elapsed,
        "rate": rate,
        "connections": spec["connections"],
        "labels": {k: asdict(v) for k, v in recorder.labels.items()},
        "dispatch_lag_max": max(lags),
        "dispatch_lag_p99": _percentile(lags, 0.99),
        "unfinished": max(0, in_flight[0]),
    }


async def _closed_loop(spec: dict) -> dict:
    loop = asyncio.get_running_loop()
    plan, recorder = _Plan(spec), _Recorder(spec["templates"])
    start = loop.time()
    stop_at = start + spec["seconds"]
    turn = [0]
    last_answer = [start]

    async def client() -> None:
        connection = _Connection(spec["host"], spec["port"])
        try:
            while loop.time() < stop_at:
                label, raw = plan.request(plan.order[turn[0] % len(plan.order)])
                turn[0] += 1
                recorder.sent(label)
                sent_at = loop.time()
                try:
                    status = await _attempt(connection, raw)
                except Exception as exc:
                    recorder.failed(label, exc)
                    await asyncio.sleep(0.01)  # a refused connection must not spin
                else:
                    now = loop.time()
                    recorder.done(label, status, now - sent_at)
                    last_answer[0] = max(last_answer[0], now)
        finally:
            connection.close()

    clients = [asyncio.create_task(client()) for _ in range(spec["connections"])]
    await asyncio.wait(clients, timeout=spec["seconds"] + _drain_seconds(spec["seconds"]))
    for task in clients:
        task.cancel()
    return {
        "mode": "saturation",
        "seconds": last_answer[0] - start,
        "rate": None,
        "connections": spec["connections"],
        "labels": {k: asdict(v) for k, v in recorder.labels.items()},
    }


def _drain_seconds(seconds: float) -> float:
    # A short run (the tiny test) must not wait ten seconds on a server it overloaded.
    return min(DRAIN_SECONDS, max(2.0, seconds))


def _pin_to_core_zero() -> None:
    cores = os.sched_getaffinity(0)
    if len(cores) > 1 and 0 in cores:
        os.sched_setaffinity(0, {0})


def main() -> None:
    spec = json.loads(sys.stdin.read())
    if spec["host"] != "127.0.0.1":
        raise SystemExit("loopback only")
    _pin_to_core_zero()
    runner = _open_loop if spec["mode"] == "rate" else _closed_loop
    started = time.monotonic()
    result = asyncio.run(runner(spec))
    result["seconds"] = result["seconds"] or time.monotonic() - started
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
