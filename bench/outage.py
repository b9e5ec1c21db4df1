"""The outage section: what the pages and the visit form cost while Redis hangs, against
their normal times.

gunicorn runs as production runs it (config/gunicorn.py: three sync processes) with the
production settings, on the bench database, with a Redis of the section's own as broker
and cache (bench.processes.PrivateRedis): stopping it with SIGSTOP (its port still
accepts connections, nothing answers, as when Redis hangs) touches nothing else.

Measured, with Redis answering (the cache warm) and then hung: each dashboard (province,
district, commune, each read by its own staff login), the home page and the visit form,
one after another; then a team leader's visit posted while three dashboards load at once
(three threads, as three readers with the page open). With Redis hung, the first answers
of each process wait out one REDIS_TIMEOUT (its breaker opens), and so does one request
per process per CACHE_BREAKER_SECONDS (the breaker's trial); the rest run without the
cache. Last, Redis is resumed and the section waits until a process says it uses the
cache again.
"""

import dataclasses
import http.client
import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from accounts.models import ScopeLevel, User
from accounts.services import user_create
from communes.models import Commune, District
from dashboard import rollup
from outreach.models import Visit

from . import web
from .harness import Context, Result, Timing, percentile
from .loadgen import Template
from .processes import PrivateRedis, Server, free_port

# config/gunicorn.py's shape: three processes, one request at a time each.
PRODUCTION_GUNICORN = {"workers": 3, "worker_class": "sync", "threads": 1}
TARGET_SECONDS = 1.0  # a page or a visit with Redis hung: within this of its normal time
TIMED_OUT = 2.5  # an answer this slow waited out REDIS_TIMEOUT (3 s)
OPENED = re.compile(r"cache unavailable \(.*process (\d+) stops")
CLOSED = re.compile(r"cache available again")


@dataclasses.dataclass
class Page:
    label: str
    path: str
    cookie: str


def _staff(username: str, **scope) -> User:
    user = User.objects.filter(username=username).first()
    return user or user_create(
        username=username, password=None, full_name=username, is_demo=True, **scope
    )


def _pages(ctx: Context, server: Server) -> tuple[list[Page], list[Page], Template]:
    """(the three dashboards, the other pages, a leader's visit form as the phone posts
    it)."""
    district_code, commune_code = web._busiest_places()
    district = District.objects.get(code=district_code)
    commune = Commune.objects.get(code=commune_code)
    province = web._session_cookie(ctx, web._province_user())
    district_staff = web._session_cookie(
        ctx,
        _staff(
            f"bench-district-{district.code}", scope_level=ScopeLevel.DISTRICT, district=district
        ),
    )
    commune_staff = web._session_cookie(
        ctx,
        _staff(f"bench-commune-{commune.code}", scope_level=ScopeLevel.COMMUNE, commune=commune),
    )
    leader = web._leaders(ctx, server, 1)[0]
    dashboards = [
        Page("province dashboard", "/dashboard/", province),
        Page(
            f"district dashboard {district.code}",
            f"/dashboard/district/{district.code}/",
            district_staff,
        ),
        Page(
            f"commune dashboard {commune.code}",
            f"/dashboard/commune/{commune.code}/",
            commune_staff,
        ),
    ]
    others = [
        Page("home page", "/", province),
        Page("visit form", "/visits/new/", leader.cookie),
    ]
    return dashboards, others, web._submission_templates([leader])[0]


def _request(
    server: Server, method: str, path: str, headers: dict, body: str = ""
) -> tuple[int, float]:
    parts = urlsplit(server.base_url)
    started = time.perf_counter()
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        client.request(method, path, body=body.encode() if body else None, headers=headers)
        response = client.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        client.close()
    return status, time.perf_counter() - started


def _get(server: Server, page: Page) -> tuple[int, float]:
    return _request(server, "GET", page.path, {"Cookie": page.cookie})


def _post(server: Server, visit: Template) -> tuple[int, float]:
    body = visit.body.replace("{uuid}", str(uuid.uuid4())).replace("{n}", uuid.uuid4().hex[:8])
    return _request(server, "POST", visit.paths[0], visit.headers, body)


def _while_loading(
    server: Server, dashboards: list[Page], run: Callable[[], None]
) -> list[tuple[int, float]]:
    """Run `run` while three readers reload their dashboards; their answers."""
    answers: list[tuple[int, float]] = []
    done = threading.Event()

    def reader(page: Page) -> None:
        while not done.is_set():
            answers.append(_get(server, page))

    threads = [threading.Thread(target=reader, args=(page,)) for page in dashboards]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)  # the three dashboards are loading
        run()
    finally:
        done.set()
        for thread in threads:
            thread.join()
    return answers


@dataclasses.dataclass
class Phase:
    pages: dict[str, Timing]
    statuses: dict[str, set[int]]
    visits: Timing
    visit_statuses: list[int]
    readers: Timing  # the dashboards' answers while the visits were posted
    reader_statuses: set[int]


def _phase(
    ctx: Context, server: Server, dashboards: list[Page], others: list[Page], visit: Template
) -> Phase:
    pages, statuses = {}, {}
    for page in [*dashboards, *others]:
        answers = [_get(server, page) for _ in range(ctx.reps)]
        pages[page.label] = Timing([seconds for _status, seconds in answers])
        statuses[page.label] = {status for status, _seconds in answers}
    posted: list[tuple[int, float]] = []

    def post_visits() -> None:
        for _ in range(ctx.reps):
            posted.append(_post(server, visit))
            time.sleep(0.5)

    readers = _while_loading(server, dashboards, post_visits)
    return Phase(
        pages,
        statuses,
        Timing([seconds for _status, seconds in posted]),
        [status for status, _seconds in posted],
        Timing([seconds for _status, seconds in readers]),
        {status for status, _seconds in readers},
    )


def _s(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def _timing(timing: Timing) -> str:
    return f"p50 {_s(timing.median)} (max {_s(timing.high)}, n={len(timing.samples)})"


def outage_section(ctx: Context) -> Result:
    web._check_database(ctx)
    result = Result("A hung Redis (SIGSTOP) against the normal times (gunicorn as in production)")
    breaker_seconds = 5 if ctx.tiny else 30
    redis_server = PrivateRedis(port=free_port())
    redis_server.start()
    env = {
        **ctx.env,
        "REDIS_URL": redis_server.url,
        "REDIS_CACHE_URL": redis_server.cache_url,
        "CACHE_BREAKER_SECONDS": str(breaker_seconds),
    }
    octx = dataclasses.replace(ctx, env=env)
    stored_before = Visit.objects.count()
    figures: dict = {"breaker_seconds": breaker_seconds}
    gunicorn = Server(octx, **PRODUCTION_GUNICORN)
    # The log file is appended to by every server the bench starts: this one's lines only.
    offset = gunicorn.log.stat().st_size if gunicorn.log.exists() else 0

    def log_now() -> str:
        with open(gunicorn.log, "rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace")

    try:
        with gunicorn as server:
            dashboards, others, visit = _pages(octx, server)
            for page in [*dashboards, *others]:  # warm: each process's imports, the cache
                for _ in range(3):
                    _get(server, page)
            normal = _phase(ctx, server, dashboards, others, visit)

            redis_server.pause()
            paused_at = time.monotonic()
            # The first answers: each process waits out one timeout, then opens its breaker.
            first = _while_loading(server, dashboards, lambda: time.sleep(0.1))
            hung = _phase(ctx, server, dashboards, others, visit)
            # On past the breaker's period, when each process lets one call try Redis.
            left = paused_at + breaker_seconds + 5 - time.monotonic()
            period = _while_loading(server, dashboards, lambda: time.sleep(max(0.0, left)))
            hung_seconds = time.monotonic() - paused_at

            redis_server.resume()
            resumed_at = time.monotonic()
            back = None
            while time.monotonic() - resumed_at < breaker_seconds + 30:
                for page in dashboards:
                    _get(server, page)
                if CLOSED.search(log_now()):
                    back = time.monotonic() - resumed_at
                    break
            log = log_now()
    finally:
        redis_server.stop()

    stored = Visit.objects.count() - stored_before
    posted_ok = normal.visit_statuses.count(302) + hung.visit_statuses.count(302)
    for label in normal.pages:
        before, during = normal.pages[label], hung.pages[label]
        difference = during.median - before.median
        result.add(
            f"{label}: normal / Redis hung",
            f"{_timing(before)} / {_timing(during)}",
            f"hung ≤ normal + {TARGET_SECONDS:.0f} s",
            difference <= TARGET_SECONDS,
        )
        figures[label] = {"normal": before.samples, "hung": during.samples}
    difference = hung.visits.median - normal.visits.median
    result.add(
        "visit posted while three dashboards load: normal / Redis hung",
        f"{_timing(normal.visits)} / {_timing(hung.visits)}",
        f"hung ≤ normal + {TARGET_SECONDS:.0f} s",
        difference <= TARGET_SECONDS,
    )
    result.add(
        "the three dashboards meanwhile: normal / Redis hung",
        f"{_timing(normal.readers)} / {_timing(hung.readers)}",
    )
    period_seconds = [seconds for _status, seconds in period]
    trials = sum(1 for seconds in period_seconds if seconds >= TIMED_OUT)
    result.add(
        "the three dashboards on, past the breaker's period (Redis hung)",
        f"{_timing(Timing(period_seconds))}, p95 {_s(percentile(period_seconds, 0.95))}; "
        f"{trials} answers waited out a timeout",
    )
    first_seconds = [seconds for _status, seconds in first]
    result.add(
        "first dashboards after Redis hung (each process waits out one timeout)",
        f"max {_s(max(first_seconds))} (n={len(first_seconds)})",
        "< 5 s",
        max(first_seconds) < 5,
    )
    result.add(
        "cache used again after Redis resumed",
        f"{back:,.1f} s" if back is not None else "not within the wait",
        f"≤ CACHE_BREAKER_SECONDS ({breaker_seconds} s) + a page",
        back is not None and back <= breaker_seconds + 5,
    )
    result.add(
        "visits stored / posts answered 302",
        f"{stored:,} / {posted_ok:,}",
        "equal",
        stored == posted_ok,
    )
    opened = OPENED.findall(log)
    result.add(
        "log lines while Redis hung",
        f"{len(opened)} breaker-open warnings from {len(set(opened))} processes, "
        f"{log.count('Traceback')} tracebacks, {len(re.findall(r' ERROR ', log))} errors",
    )
    statuses = {
        "normal": {
            **normal.statuses,
            "visits": set(normal.visit_statuses),
            "readers": normal.reader_statuses,
        },
        "hung": {
            **hung.statuses,
            "visits": set(hung.visit_statuses),
            "readers": hung.reader_statuses,
        },
    }
    unexpected = {
        phase: {label: sorted(found) for label, found in answers.items() if found - {200, 302}}
        for phase, answers in statuses.items()
    }
    if any(unexpected.values()):
        result.notes.append(f"Answers other than 200 and 302: {unexpected}.")
    figures.update(
        first=first_seconds,
        period=period_seconds,
        visits={"normal": normal.visits.samples, "hung": hung.visits.samples},
        readers={
            "normal": statistics.median(normal.readers.samples),
            "hung": statistics.median(hung.readers.samples),
        },
        hung_seconds=hung_seconds,
        back_seconds=back,
        stored=stored,
        posted_ok=posted_ok,
        breaker_opened=len(opened),
    )
    pending = rollup.rollup_pending()  # later sections start with nothing pending
    result.notes += [
        "gunicorn as config/gunicorn.py runs it in production: 3 sync processes, one "
        "request at a time each, so a visit posted while three dashboards load waits for "
        "one of them to finish. Redis is the section's own (broker and cache), stopped "
        f"with SIGSTOP for {hung_seconds:,.0f} s; REDIS_TIMEOUT 3 s, CACHE_BREAKER_SECONDS "
        f"{breaker_seconds}.",
        f"Each page: {ctx.reps} requests one after another, p50 and max; with Redis up the "
        "cache is warm. The visit: posted "
        f"{ctx.reps} times, 0.5 s apart, while three threads reload the three dashboards. "
        "With Redis hung every page is computed without the cache; the first request of "
        "each process, and then one per process per breaker period (its trial call), waits "
        "out a timeout: the three readers go on past the period to show it.",
        f"The visits' pending roll-up ran in this process afterwards ({pending.cells:,} cells).",
    ]
    result.figures = figures
    return result
