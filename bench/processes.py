"""The processes a benchmark section starts: a Celery worker, a gunicorn server, and a
Redis of its own when it breaks one.

Both run from the project root with the run's environment (ctx.env over os.environ), so
they use the bench database and its Redis databases with the production settings. Each
is a context manager that waits until the process answers and always stops it, TERM
first and KILL if it does not leave in time. Their output goes to a log file under
ctx.workdir, which is where to look when one refuses to start.
"""

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis

from .harness import Context, process_rss_mb

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 15.0


class StartFailed(RuntimeError):
    pass


def process_env(ctx: Context) -> dict[str, str]:
    env = {**os.environ, **ctx.env}
    # The children must import the project, whatever directory the caller runs from.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """The direct children of a process, from /proc (every thread's list)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found.extend(int(child) for child in listing.read().split())
        except FileNotFoundError:
            continue
    return sorted(set(found))


def peak_rss_of(pids: list[int]) -> float:
    """The highest VmHWM among the processes still alive, in MB."""
    peak = 0.0
    for pid in pids:
        try:
            peak = max(peak, process_rss_mb(pid)[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return peak


def stop(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """TERM, then KILL whatever is left of the process group after `timeout`."""
    if process.poll() is not None:
        return
    try:
        # Each child is started in its own session, so the group is exactly its tree.
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class Worker:
    """`celery -A config worker` with one prefork child, as production runs the roll-ups.

    with Worker(ctx) as worker:
        ...queue tasks, wait for them...
        worker.task_peak_rss_mb()   # the child that ran the tasks
    """

    def __init__(
        self,
        ctx: Context,
        *,
        concurrency: int = 1,
        start_timeout: float = 60.0,
        loglevel: str = "WARNING",
    ):
        self.ctx = ctx
        self.loglevel = loglevel
        self.concurrency = concurrency
        self.start_timeout = start_timeout
        # A unique node name, so that the ping answers for this worker and no other.
        self.nodename = f"bench-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        self.log = Path(ctx.workdir) / "worker.log"
        self.process: subprocess.Popen | None = None
        self._last_child_peak = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> "Worker":
        env = process_env(self.ctx)
        if not env.get("REDIS_URL"):
            raise StartFailed("The worker needs REDIS_URL in ctx.env (the bench's broker).")
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--concurrency={self.concurrency}",
            "--pool=prefork",
            f"--loglevel={self.loglevel}",
            "-n",
            self.nodename,
            # Nothing to synchronise with: it is the only worker on the bench's broker.
            "--without-mingle",
            "--without-gossip",
        ]
        self.process = _start(command, env, self.log)
        try:
            self._wait_ready(env["REDIS_URL"])
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop()

    def _wait_ready(self, broker: str) -> None:
        from celery import Celery

        # A bare app on the same broker: the caller's own Celery app may be eager.
        app = Celery("bench-ping", broker=broker, set_as_current=False)
        try:
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise StartFailed(
                        f"The Celery worker exited with {self.process.returncode}:\n"
                        + _log_tail(self.log)
                    )
                # The pool's child is forked after the consumer starts: wait for it too.
                if app.control.ping(destination=[self.nodename], timeout=0.5) and children(
                    self.pid
                ):
                    return
                time.sleep(0.2)
            raise StartFailed("The Celery worker did not answer in time:\n" + _log_tail(self.log))
        finally:
            app.close()

    def child_pids(self) -> list[int]:
        return children(self.pid) if self.process is not None else []

    def task_peak_rss_mb(self) -> float:
        """Peak resident memory of the pool's children, where the tasks run."""
        peak = peak_rss_of(self.child_pids())
        self._last_child_peak = max(self._last_child_peak, peak)
        return self._last_child_peak

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the worker's main process (the consumer)."""
        return peak_rss_of([self.pid])

    def _stop(self) -> None:
        if self.process is None:
            return
        try:
            self.task_peak_rss_mb()  # the children are gone once it has stopped
        finally:
            stop(self.process)


class Server:
    """gunicorn serving config.wsgi on a free loopback port, with the production settings.

    Worker class: gthread. The sync worker closes the connection after every response
    (gunicorn gives it no keep-alive), so each request would pay a TCP handshake and a
    new accept, and a load generator would measure connection set-up as much as Django.
    gthread keeps connections alive and, with a few threads per process, lets one
    thread run Python while another waits on Postgres or Redis, which is most of a
    request's wall time on this 2-core machine; the GIL keeps the gain to that overlap.
    Two processes use both cores (the load generator is pinned to core 0 and gets its
    share; Postgres takes the rest).
    """

    def __init__(
        self,
        ctx: Context,
        *,
        workers: int = 2,
        worker_class: str = "gthread",
        threads: int = 4,
        start_timeout: float = 60.0,
    ):
        self.ctx = ctx
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.start_timeout = start_timeout
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = Path(ctx.workdir) / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self._peak = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def env(self) -> dict[str, str]:
        env = process_env(self.ctx)
        env.setdefault("STATIC_ROOT", str((Path(self.ctx.workdir) / "static").resolve()))
        return env

    def __enter__(self) -> "Server":
        env = self.env()
        collectstatic(env, Path(self.ctx.workdir) / "collectstatic.log")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            # Loopback clients keep their connections busy; a short idle gap between two
            # fixed-rate requests must not close them.
            "--keep-alive",
            "30",
            "--backlog",
            "2048",
            "--timeout",
            "60",
            # Heartbeat files in memory, not on a disk the database also writes to.
            "--worker-tmp-dir",
            "/dev/shm",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ]
        self.process = _start(command, env, self.log)
        try:
            self._wait_healthy()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StartFailed(
                    f"gunicorn exited with {self.process.returncode}:\n" + _log_tail(self.log)
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status == 200 and len(self.worker_pids()) >= self.workers:
                    return
                last = f"{response.status} {body[:300]!r}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise StartFailed(
            f"gunicorn did not answer /healthz in time ({last}):\n" + _log_tail(self.log)
        )

    def worker_pids(self) -> list[int]:
        return children(self.pid) if self.process is not None else []

    def peak_rss_mb(self) -> float:
        """The highest peak resident memory of any gunicorn worker so far."""
        self._peak = max(self._peak, peak_rss_of(self.worker_pids()))
        return self._peak

    def _stop(self) -> None:
        if self.process is None:
            return
        try:
            self.peak_rss_mb()
        finally:
            stop(self.process)


def collectstatic(env: dict[str, str], log: Path) -> None:
    """Whitenoise's manifest storage refuses to render a page whose static files were
    never collected, so the server needs them in STATIC_ROOT first."""
    root = Path(env["STATIC_ROOT"])
    manifest = root / "staticfiles.json"
    sources = [p for p in (ROOT / "static").rglob("*") if p.is_file()]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        # Compressing every file again takes seconds each time a section starts a server.
        return
    root.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        finished = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
    if finished.returncode != 0:
        raise StartFailed(f"collectstatic failed ({finished.returncode}):\n" + _log_tail(log))


@dataclass
class PrivateRedis:
    """A redis-server of the caller's own on a free port (a fault test's, the outage
    section's): stop(), pause() and resume() act on it alone, never on the shared one."""

    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def cache_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/1"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise StartFailed(f"the private Redis on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        """The process stops answering; its port still accepts connections."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def flush(self) -> None:
        redis.Redis(port=self.port, socket_timeout=2).flushall()

    def queue_drop(self) -> None:
        """The broker's messages go; the cache (its own database) stays."""
        redis.Redis(port=self.port, db=0, socket_timeout=2).flushdb()
