"""The HTTP sections of the benchmark: dashboard pages, visit submissions, the mixed hour.

Each is `section(ctx) -> Result`. They serve the portal with gunicorn and the production
settings (bench/processes.py; only the HTTPS-only flags are off, for plain HTTP on
loopback) and drive it with the load generator pinned to core 0 (bench/loadgen.py).

This process must have Django set up on the bench database, the one ctx.env's
DATABASE_URL names: the sections create their users and sessions here, count what the
server stored and time the live-from-raw queries through Django's connection. Sessions
are signed with the server's SECRET_KEY (ctx.env), so no request logs in.

`ctx.tiny` shortens every step to ctx.step_seconds and tiny rates, for the test. A
caller may share one running Server in ctx.shared["server"]; otherwise each section
starts its own and stops it.
"""

import datetime as dt
import http.client
import math
import random
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode, urlsplit

import redis
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import Count, Min, Q, Sum
from django.test import override_settings
from django.utils import timezone

from accounts.models import ScopeLevel, User
from accounts.services import user_create
from communes.models import Commune, District, Hamlet, Province
from dashboard import rollup
from dashboard.models import CommuneDay, PendingRollup, RollupState
from dashboard.queue import ROLLUP_QUEUED_KEY
from outreach.models import READINESS_FIELDS, Household, Member, Service, Team, Visit

from . import loadgen
from .harness import Context, Result, Timing, percentile, repeat
from .loadgen import LoadResult, Template
from .processes import Server, Worker

PROVINCE_USER = "bench-province"
SESSION_BACKEND = "accounts.backends.CachedPermissionBackend"
# Enough clients to keep gunicorn's 2 processes x 4 threads busy while answers travel.
SATURATION_CONNECTIONS = 16
LOAD_SHARES = (0.25, 0.50, 0.75)
DASHBOARD_RATE = 50  # the target rate
# Issue 17's: a page never asked before at 5 requests a second, p95 ≤ 100 ms; the page
# in one process ≤ 60× /healthz; a cached page's p95 at 50 a second ≤ 2× /healthz's; the
# figures live from the raw tables ≥ 300× the page.
NEW_PERIOD_RATE = 5
NEW_PERIOD_P95_MS = 100
IN_PROCESS_RATIO = 60
CACHED_RATIO = 2
LIVE_RATIO = 300
SUBMISSION_RATE = 20
BROKER_QUEUE = "celery"  # Celery's default queue: where visit_record's on-commit task goes


# --- Set-up in this process ---------------------------------------------------------------


def _check_database(ctx: Context) -> None:
    """Refuse to run against another database than the one the server will use."""
    url = ctx.env.get("DATABASE_URL", "")
    wanted = unquote(urlsplit(url).path.lstrip("/"))
    here = connection.settings_dict["NAME"]
    if not wanted or wanted != here:
        raise RuntimeError(
            f"This process uses the database {here!r} but the server would use {wanted!r}: "
            "set Django up on the bench database first."
        )


def _session_cookie(ctx: Context, user: User) -> str:
    """A logged-in session row for the user, signed as the server will read it."""
    with override_settings(SECRET_KEY=ctx.env["SECRET_KEY"]):
        session = SessionStore()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = SESSION_BACKEND
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _province_user() -> User:
    user = User.objects.filter(username=PROVINCE_USER).first()
    if user is None:
        user = user_create(
            username=PROVINCE_USER,
            password=None,
            full_name="Bench provincial staff",
            scope_level=ScopeLevel.PROVINCE,
            province=Province.objects.order_by("pk").first(),
            is_demo=True,
        )
    return user


@dataclass
class Leader:
    """A team leader's login, session and what their visit form needs."""

    team_id: int
    cookie: str  # session and CSRF cookies
    csrf_token: str
    hamlet_id: int
    member_ids: list[int]


def _leader_user(member: Member) -> User:
    if member.user_id:
        user = member.user
    else:
        username = f"bench-leader-{member.pk}"
        # A previous load reused the member's id: its login is still there, link it.
        user = User.objects.filter(username=username).first() or user_create(
            username=username,
            password=None,
            full_name=member.full_name,
            scope_level=ScopeLevel.TEAM,
            is_demo=True,
        )
        # As seed_demo links its demo leader: the login follows the member record.
        Member.objects.filter(pk=member.pk).update(user=user)
    if not user.is_active or user.scope_level != ScopeLevel.TEAM:
        raise RuntimeError(f"The login of leader {member.pk} is not an active team login.")
    return user


def _leader_members(count: int) -> list[Member]:
    """Active leaders of the busiest active teams whose commune has an active hamlet."""
    with_hamlets = Hamlet.objects.filter(is_active=True).values("commune_id")
    busy = list(
        Team.objects.filter(dissolved_on__isnull=True, commune_id__in=with_hamlets)
        .annotate(active=Count("members", filter=Q(members__is_active=True)))
        .filter(active__gte=2)
        .order_by("-active", "pk")
        .values_list("pk", flat=True)[: count * 4]
    )
    leaders = list(
        Member.objects.filter(
            team_id__in=busy, role=Member.Role.LEADER, is_active=True
        ).select_related("team", "user")
    )
    # One leader per team (the first by id), the busiest teams first.
    by_team: dict[int, Member] = {}
    for member in sorted(leaders, key=lambda m: m.pk):
        by_team.setdefault(member.team_id, member)
    ordered = [by_team[pk] for pk in busy if pk in by_team][:count]
    if not ordered:
        raise RuntimeError("No active team with a leader, members and a hamlet to log visits.")
    return ordered


def _http(base_url: str, path: str, cookie: str) -> tuple[int, dict[str, list[str]], str]:
    parts = urlsplit(base_url)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        client.request("GET", path, headers={"Cookie": cookie})
        response = client.getresponse()
        body = response.read().decode("utf-8", errors="replace")
        headers: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            headers.setdefault(name.lower(), []).append(value)
        return response.status, headers, body
    finally:
        client.close()


def _leaders(ctx: Context, server: Server, count: int) -> list[Leader]:
    """Team leaders logged in, each with the CSRF token of their own visit form."""
    leaders = []
    for member in _leader_members(count):
        user = _leader_user(member)
        session = _session_cookie(ctx, user)
        status, headers, body = _http(server.base_url, "/visits/new/", session)
        if status != 200:
            raise RuntimeError(f"The visit form answered {status} to leader {member.pk}.")
        csrf_cookie = next(
            (
                c.split(";", 1)[0]
                for c in headers.get("set-cookie", [])
                if c.startswith(settings.CSRF_COOKIE_NAME + "=")
            ),
            None,
        )
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if csrf_cookie is None or token is None:
            raise RuntimeError("The visit form set no CSRF cookie or token.")
        team = member.team
        hamlet = (
            Hamlet.objects.filter(commune_id=team.commune_id, is_active=True).order_by("pk").first()
        )
        members = list(
            Member.objects.filter(team=team, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:2]
        )
        leaders.append(
            Leader(
                team_id=team.pk,
                cookie=f"{session}; {csrf_cookie}",
                csrf_token=token.group(1),
                hamlet_id=hamlet.pk,
                member_ids=members,
            )
        )
    return leaders


def _submission_templates(leaders: list[Leader], weights: list[int] | None = None):
    """Each leader's visit form as the phone posts it; every post is a new visit of a new
    household (`{uuid}` and `{n}` are filled per request by the load generator)."""
    services = list(
        Service.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
    )
    today = timezone.localdate().isoformat()
    templates = []
    for index, leader in enumerate(leaders):
        fields = [
            ("csrfmiddlewaretoken", leader.csrf_token),
            ("consent", Household.Consent.GIVEN),
            ("visited_on", today),
            ("hamlet", leader.hamlet_id),
            ("head_name", "Hộ thử tải"),
            *(("members", pk) for pk in leader.member_ids),
            ("residents_helped", 2),
            *(("services", pk) for pk in services[:2]),
            ("outcome", Visit.Outcome.HELPED),
            ("notes", ""),
            ("has_smartphone", "yes"),
            ("vneid_level2", "no"),
            *((item, "") for item in READINESS_FIELDS[2:]),
        ]
        # urlencode would escape the placeholders' braces: they go in as they are.
        body = "submission_id={uuid}&address_label=" + quote("Số thử ") + "{n}&" + urlencode(fields)
        templates.append(
            Template(
                label="submission",
                paths=["/visits/new/"],
                method="POST",
                headers={
                    "Cookie": leader.cookie,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                body=body,
                weight=weights[index] if weights else 1,
            )
        )
    return templates


def _busiest_places() -> tuple[int, int]:
    """The codes of the district and the commune with the most visits."""
    commune_visits = list(
        CommuneDay.objects.values("commune_id")
        .annotate(visits=Sum("visits"))
        .order_by("-visits")
        .values_list("commune_id", "visits")[:1]
    )
    if commune_visits:
        commune = Commune.objects.select_related("district").get(pk=commune_visits[0][0])
        district_id = (
            CommuneDay.objects.values("district_id")
            .annotate(visits=Sum("visits"))
            .order_by("-visits")
            .values_list("district_id", flat=True)
            .first()
        )
        return District.objects.get(pk=district_id).code, commune.code
    # No roll-up yet: the raw rows say the same.
    commune_id = (
        Household.objects.values("commune_id")
        .annotate(visits=Count("visits"))
        .order_by("-visits")
        .values_list("commune_id", flat=True)
        .first()
    )
    commune = Commune.objects.select_related("district").get(pk=commune_id)
    return commune.district.code, commune.code


def _purge_queue(ctx: Context) -> int:
    """Drop the queued roll-up tasks from the bench's broker database (only that key), and
    the debounce's "already asked" mark with them.

    The mark stands for a task that is now gone: left in the cache, the next section's
    first submissions would think a run is on its way and ask for none until it expired.
    """
    client = redis.Redis.from_url(ctx.env["REDIS_URL"], socket_timeout=5)
    try:
        queued = client.llen(BROKER_QUEUE)
        client.delete(BROKER_QUEUE)
    finally:
        client.close()
    url = ctx.env.get("REDIS_CACHE_URL") or ctx.env["REDIS_URL"]
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        # The cache's own prefix and version come first in the stored key.
        for key in client.scan_iter(match=f"*:{ROLLUP_QUEUED_KEY}", count=1000):
            client.delete(key)
    finally:
        client.close()
    return queued


def _forget_dashboard_cache(ctx: Context) -> None:
    """Drop the cached dashboard figures, so that "uncached" figures of this run are not
    found under a key an earlier run left (same roll-up version, same period)."""
    url = ctx.env.get("REDIS_CACHE_URL") or ctx.env["REDIS_URL"]
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match="*dashboard:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


@contextmanager
def _serving(ctx: Context) -> Iterator[Server]:
    """The server a caller shares in ctx.shared["server"] (left running), or a new one."""
    shared = ctx.shared.get("server")
    if shared is not None:
        yield shared
        return
    with Server(ctx) as server:
        yield server


# --- Figures from load runs ---------------------------------------------------------------


def _ms(values: list[float], share: float) -> float:
    return percentile(values, share) * 1000


def _latency_text(values: list[float]) -> str:
    if not values:
        return "no answers"
    return (
        f"p50 {_ms(values, 0.5):,.1f} / p95 {_ms(values, 0.95):,.1f} / "
        f"p99 {_ms(values, 0.99):,.1f} ms (n={len(values):,})"
    )


def _statuses_text(result: LoadResult) -> str:
    statuses: dict[str, int] = {}
    for label in result.labels.values():
        for status, count in label.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    parts = [f"{status}: {count:,}" for status, count in sorted(statuses.items())]
    if result.errors:
        parts.append(f"errors: {result.errors:,}")
    if result.unfinished:
        parts.append(f"unfinished: {result.unfinished:,}")
    return ", ".join(parts)


def _step_figures(result: LoadResult, label: str | None = None) -> dict:
    values = result.labels[label].latencies if label else result.latencies
    return {
        "rate": result.rate,
        "achieved": result.per_second,
        "p50_ms": _ms(values, 0.5),
        "p95_ms": _ms(values, 0.95),
        "p99_ms": _ms(values, 0.99),
        "answers": len(values),
        "statuses": _statuses_text(result),
        "dispatch_lag_p99_ms": result.dispatch_lag_p99 * 1000,
    }


def _good(result: LoadResult, status: int, label: str | None = None) -> bool:
    """Every request answered with the expected status."""
    labels = [result.labels[label]] if label else list(result.labels.values())
    return not result.unfinished and all(
        sum(lr.statuses.values()) == lr.sent and lr.count(status) == lr.sent and not lr.errors
        for lr in labels
    )


def _unanswered(runs: list[LoadResult], label: str) -> int:
    """Requests sent without an answer (a timeout, or still in flight when the generator
    stopped waiting): the server may have stored them all the same."""
    return sum(
        run.labels[label].sent - sum(run.labels[label].statuses.values())
        for run in runs
        if label in run.labels
    )


def _add_stored_check(result: Result, figures: dict, runs: list[LoadResult], stored: int) -> None:
    """Visits stored against posts answered 302; posts left unanswered may be either."""
    successful = sum(run.labels["submission"].count(302) for run in runs)
    unknown = _unanswered(runs, "submission")
    figures.update(successful=successful, stored=stored, unanswered=unknown)
    value = f"{stored:,} / {successful:,}"
    if unknown:
        value += f" (+{unknown:,} sent and never answered)"
    result.add(
        "Visits stored / successful submissions",
        value,
        "equal",
        successful > 0 and successful <= stored <= successful + unknown,
    )


def _settle(server: Server, timeout: float = 120.0) -> None:
    """Wait until the server has worked off what an overloaded step left queued in it:
    three /healthz answers in a row, each within 100 ms."""
    deadline = time.monotonic() + timeout
    quick = 0
    while quick < 3 and time.monotonic() < deadline:
        started = time.monotonic()
        try:
            _http(server.base_url, "/healthz", "")
        except OSError:
            quick = 0
            continue
        quick = quick + 1 if time.monotonic() - started < 0.1 else 0


def _saturation(ctx: Context, server: Server, templates, seconds: float) -> Timing:
    """Closed-loop throughput, ctx.reps runs; the Timing's samples are requests/s."""
    samples = []
    for _rep in range(ctx.reps):
        result = loadgen.run_saturation(
            server.base_url, templates, connections=SATURATION_CONNECTIONS, seconds=seconds
        )
        samples.append(result.per_second)
    return Timing(samples)


def _rps_text(timing: Timing) -> str:
    spread = f"{timing.low:,.0f}–{timing.high:,.0f}, n={len(timing.samples)}"
    return f"{timing.median:,.0f} req/s ({spread})"


def _durations(ctx: Context) -> tuple[float, float]:
    """(seconds of a fixed-rate step, seconds of one saturation run)."""
    step = ctx.step_seconds
    return step, max(0.5 if ctx.tiny else 1.0, step / 2)


def _times(ratio: float) -> str:
    return f"{ratio:,.1f}×" if ratio < 10 else f"{ratio:,.0f}×"


# --- Section 3: the dashboard pages -------------------------------------------------------


def _dashboard_rate(ctx: Context) -> int:
    return 5 if ctx.tiny else DASHBOARD_RATE


class UncachedPaths:
    """Paths whose figures no earlier request computed: each asks for a custom period
    never asked before (a distinct cache key), a stretch of 4 weeks to a year ending in
    the last year, so that every answer computes its figures from the summary tables."""

    def __init__(self, path: str, seed: int):
        self.path = path
        self.random = random.Random(seed)
        self.today = timezone.localdate()
        self.used: set[tuple[dt.date, dt.date]] = set()

    def take(self, count: int) -> list[str]:
        paths = []
        while len(paths) < count:
            end = self.today - dt.timedelta(days=self.random.randrange(0, 365))
            start = end - dt.timedelta(days=self.random.randrange(27, 365))
            if (start, end) in self.used:
                continue
            self.used.add((start, end))
            paths.append(f"{self.path}?period=custom&start={start:%Y-%m-%d}&end={end:%Y-%m-%d}")
        return paths


def _page_template(label: str, paths: list[str], cookie: str, weight: int = 1) -> Template:
    return Template(label=label, paths=paths, headers={"Cookie": cookie}, weight=weight)


def _dashboard_pages() -> list[tuple[str, str]]:
    district, commune = _busiest_places()
    return [
        ("province", "/dashboard/"),
        (f"district {district}", f"/dashboard/district/{district}/"),
        (f"commune {commune}", f"/dashboard/commune/{commune}/"),
    ]


def _live_queries(start: dt.date, end: dt.date) -> list[tuple[str, list]]:
    """What the province overview shows, as a BI tool would compute it from the raw rows:
    plain GROUP BY queries over visits, households, teams and members."""
    visit = Visit._meta.db_table
    household = Household._meta.db_table
    commune = Commune._meta.db_table
    team = Team._meta.db_table
    member = Member._meta.db_table
    visit_members = Visit.members.through._meta.db_table
    visit_services = Visit.services.through._meta.db_table
    readiness = ", ".join(
        f"count(*) FILTER (WHERE {item}), count({item})" for item in READINESS_FIELDS
    )
    by_district = (
        f"JOIN {household} h ON h.id = v.household_id JOIN {commune} c ON c.id = h.commune_id"
    )
    return [
        # Visits, households visited, residents helped and teams out per district.
        (
            f"SELECT c.district_id, count(*), count(DISTINCT v.household_id), "
            f"sum(v.residents_helped), count(DISTINCT v.team_id) FROM {visit} v {by_district} "
            f"WHERE v.visited_on BETWEEN %s AND %s GROUP BY c.district_id",
            [start, end],
        ),
        # Members out per district.
        (
            f"SELECT c.district_id, count(DISTINCT vm.member_id) FROM {visit_members} vm "
            f"JOIN {visit} v ON v.id = vm.visit_id {by_district} "
            f"WHERE v.visited_on BETWEEN %s AND %s GROUP BY c.district_id",
            [start, end],
        ),
        # Households reached by the period's end, per commune (the coverage table).
        (
            f"SELECT h.commune_id, count(DISTINCT v.household_id) FROM {visit} v "
            f"JOIN {household} h ON h.id = v.household_id WHERE v.visited_on <= %s "
            f"GROUP BY h.commune_id",
            [end],
        ),
        # The trend: visits and households reached for the first time, by month.
        (
            f"SELECT date_trunc('month', v.visited_on), count(*) FROM {visit} v "
            f"WHERE v.visited_on BETWEEN %s AND %s GROUP BY 1",
            [start, end],
        ),
        (
            f"SELECT date_trunc('month', first_day), count(*) FROM (SELECT household_id, "
            f"min(visited_on) AS first_day FROM {visit} GROUP BY household_id) firsts "
            f"WHERE first_day BETWEEN %s AND %s GROUP BY 1",
            [start, end],
        ),
        # Services given in the period.
        (
            f"SELECT vs.service_id, count(*) FROM {visit_services} vs JOIN {visit} v "
            f"ON v.id = vs.visit_id WHERE v.visited_on BETWEEN %s AND %s GROUP BY vs.service_id",
            [start, end],
        ),
        # Readiness: households with each item, of those asked.
        (f"SELECT {readiness} FROM {household}", []),
        # Teams and members at the period's end, per commune.
        (
            f"SELECT t.commune_id, count(*) FROM {team} t WHERE t.formed_on <= %s "
            f"AND (t.dissolved_on IS NULL OR t.dissolved_on > %s) GROUP BY t.commune_id",
            [end, end],
        ),
        (
            f"SELECT t.commune_id, count(*), count(*) FILTER (WHERE m.on_zalo_oa) "
            f"FROM {member} m JOIN {team} t ON t.id = m.team_id WHERE m.joined_on <= %s "
            f"AND (m.left_on IS NULL OR m.left_on > %s) GROUP BY t.commune_id",
            [end, end],
        ),
    ]


def _live_from_raw(ctx: Context) -> Timing:
    today = timezone.localdate()
    queries = _live_queries(dt.date(today.year, 1, 1), today)

    def run() -> None:
        with connection.cursor() as cursor:
            for sql, params in queries:
                cursor.execute(sql, params)
                cursor.fetchall()

    return repeat(run, reps=ctx.reps, warmup=1)


def _in_process(ctx: Context, *, cookie_user: User) -> dict:
    """The province page for periods never asked before against /healthz, both through
    Django's test client in this process (the production settings, the Redis cache):
    medians, after a warm-up."""
    from django.test import Client

    # This process set up as a web process is (config/wsgi.py: what it has loaded is
    # frozen out of Python's collections), not as a harness holding the load's data.
    import config.wsgi  # noqa: F401

    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h), "testserver")
    client = Client(HTTP_HOST=host.lstrip("."))
    client.force_login(cookie_user)

    def median_ms(paths: list[str]) -> float:
        times = []
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code} in process.")
        return statistics.median(times)

    count = 5 if ctx.tiny else 40
    fresh = UncachedPaths("/dashboard/", seed=uuid.uuid4().int)
    median_ms(["/healthz"] * 50 + fresh.take(3))  # warm-up: imports, connections, units
    healthz = median_ms(["/healthz"] * 500)
    page = median_ms(fresh.take(count))
    return {"healthz_ms": healthz, "page_ms": page, "ratio": page / healthz, "n": count}


def dashboard_section(ctx: Context) -> Result:
    """Section 3: the province, a district and a commune page, uncached and cached."""
    _check_database(ctx)
    result = Result("Dashboard pages (gunicorn, production settings)")
    step, saturation_seconds = _durations(ctx)
    cookie = _session_cookie(ctx, _province_user())
    pages = _dashboard_pages()
    _forget_dashboard_cache(ctx)
    figures: dict = {"pages": {}}
    with _serving(ctx) as server:
        for _label, path in pages:
            status, _headers, _body = _http(server.base_url, path, cookie)
            if status != 200:
                raise RuntimeError(f"{path} answered {status} to the provincial user.")
        # Warm-up: every worker process imports, connects and loads the units.
        warm = [_page_template(label, [path], cookie) for label, path in pages]
        loadgen.run_saturation(
            server.base_url, warm, connections=SATURATION_CONNECTIONS, seconds=min(2.0, step)
        )

        trivial = [Template("healthz", ["/healthz"], headers={"Cookie": cookie})]
        trivial_saturation = _saturation(ctx, server, trivial, saturation_seconds)
        rate = _dashboard_rate(ctx)
        trivial_at_rate = loadgen.run_rate(server.base_url, trivial, rate=rate, seconds=step)
        result.add("/healthz (trivial view): saturation", _rps_text(trivial_saturation))
        result.add(f"/healthz at {rate} req/s", _latency_text(trivial_at_rate.latencies))
        figures["healthz"] = {
            "saturation": trivial_saturation.samples,
            "at_rate": _step_figures(trivial_at_rate),
        }

        for index, (label, path) in enumerate(pages):
            figures["pages"][label] = _dashboard_page(
                ctx, result, server, label, path, cookie, seed=uuid.uuid4().int + index
            )
        figures["gunicorn_peak_rss_mb"] = server.peak_rss_mb()

    # Against the trivial view and the raw tables, a page's time is its p50 at the
    # lightest step (25% of its saturation), where queueing adds least.
    province = figures["pages"]["province"]
    healthz = figures["healthz"]
    uncached_p50 = province["uncached"]["lightest"]["p50_ms"]
    cached_p50 = province["cached"]["lightest"]["p50_ms"]
    healthz_p50 = healthz["at_rate"]["p50_ms"]
    healthz_saturation = statistics.median(healthz["saturation"])
    result.add(
        "/healthz saturation / province page saturation",
        f"{_times(healthz_saturation / statistics.median(province['uncached']['saturation']))} "
        f"uncached, "
        f"{_times(healthz_saturation / statistics.median(province['cached']['saturation']))} "
        "cached",
    )
    result.add(
        "Province page p50 (lightest step) / /healthz p50",
        f"{_times(uncached_p50 / healthz_p50)} uncached, {_times(cached_p50 / healthz_p50)} cached",
    )

    cached_ratio = province["cached"]["at_target"]["p95_ms"] / healthz["at_rate"]["p95_ms"]
    result.add(
        f"Province page cached p95 / /healthz p95, both at {rate} req/s",
        _times(cached_ratio),
        f"≤ {CACHED_RATIO}× (issue 17)",
        cached_ratio <= CACHED_RATIO,
    )
    figures["cached_ratio"] = cached_ratio

    live = _live_from_raw(ctx)
    page_p50 = province["uncached"]["at_new_period_rate"]["p50_ms"]
    ratio = live.median * 1000 / page_p50 if page_p50 else float("nan")
    result.add("Province figures live from the raw tables (this year)", live.ms())
    result.add(
        f"Live from raw / province page uncached p50 at {NEW_PERIOD_RATE} req/s",
        _times(ratio),
        f"≥ {LIVE_RATIO}× (issue 17)",
        ratio >= LIVE_RATIO,
    )
    figures["live_from_raw_s"] = live.samples
    figures["live_ratio"] = ratio
    in_process = _in_process(ctx, cookie_user=_province_user())
    result.add(
        "Province page, a period never asked before, in one process (test client) / /healthz",
        f"{in_process['page_ms']:,.1f} ms / {in_process['healthz_ms']:,.2f} ms = "
        f"{_times(in_process['ratio'])} (medians, n={in_process['n']})",
        f"≤ {IN_PROCESS_RATIO}× (issue 17)",
        in_process["ratio"] <= IN_PROCESS_RATIO,
    )
    figures["in_process"] = in_process
    result.add("Gunicorn worker peak RSS", f"{figures['gunicorn_peak_rss_mb']:,.0f} MB")
    result.notes += [
        "Served by gunicorn (2 gthread processes, 4 threads) with the production settings; "
        "SECURE_HTTPS=false, because the load comes over plain HTTP on loopback.",
        "Load: an open-loop generator at a fixed arrival rate (latency measured from each "
        "request's due time, wrk2-style), pinned to core 0; saturation is closed-loop with "
        f"{SATURATION_CONNECTIONS} keep-alive connections.",
        "Uncached: every request asks for a custom period never asked before (4 weeks to a "
        "year, ending in the last year), so its figures are computed from the summary "
        "tables; cached: the default period (this year) repeated after a warm-up.",
        "The trivial view is /healthz (one SELECT 1 and a Redis PING on a new connection).",
        "Live from raw: the overview's figures as plain GROUP BY queries over the visits, "
        "households, teams and members tables, timed from the orchestrator through Django's "
        "connection; compared with the province page's uncached p50 over HTTP at 25% of its "
        "saturation.",
    ]
    result.figures = figures
    return result


def _dashboard_page(
    ctx: Context, result: Result, server: Server, label: str, path: str, cookie: str, *, seed: int
) -> dict:
    step, saturation_seconds = _durations(ctx)
    fresh = UncachedPaths(path, seed)
    cached = [_page_template(label, [path], cookie)]

    def uncached(count: int) -> list[Template]:
        return [_page_template(label, fresh.take(max(1, count)), cookie)]

    figures: dict = {}
    for kind in ("uncached", "cached"):
        figures[kind] = {}
        if kind == "uncached":
            # A closed-loop run sends as many as the server answers: room for 3,000/s.
            saturation_templates = uncached(math.ceil(3000 * saturation_seconds))
        else:
            saturation_templates = cached
        saturation = _saturation(ctx, server, saturation_templates, saturation_seconds)
        figures[kind]["saturation"] = saturation.samples
        target = "≥ 200 req/s" if kind == "uncached" else ""
        met = saturation.median >= 200 if kind == "uncached" else None
        result.add(f"{label} {kind}: saturation", _rps_text(saturation), target, met)

        # The tiny run keeps one share: it checks the steps work, not what they measure.
        shares = (0.5,) if ctx.tiny else LOAD_SHARES
        steps = [(share, max(1.0, share * saturation.median)) for share in shares]
        if kind == "uncached":
            steps.insert(0, ("new", NEW_PERIOD_RATE))
        steps.append((None, _dashboard_rate(ctx)))
        for share, rate in steps:
            templates = uncached(math.ceil(rate * step) + 10) if kind == "uncached" else cached
            run = loadgen.run_rate(server.base_url, templates, rate=rate, seconds=step)
            if run.unfinished or run.errors:
                _settle(server)  # the next step must not inherit this one's queue
            step_figures = _step_figures(run)
            step_figures["all_ok"] = _good(run, 200)
            if share == "new":
                figures[kind]["at_new_period_rate"] = step_figures
                result.add(
                    f"{label} {kind} at {rate:,.0f} req/s",
                    _latency_text(run.latencies),
                    f"p95 ≤ {NEW_PERIOD_P95_MS} ms (issue 17, province)",
                    step_figures["p95_ms"] <= NEW_PERIOD_P95_MS and step_figures["all_ok"]
                    if label == "province"
                    else None,
                )
            elif share is None:
                limit = 30 if kind == "uncached" else 10
                figures[kind]["at_target"] = step_figures
                result.add(
                    f"{label} {kind} at {rate:,.0f} req/s",
                    _latency_text(run.latencies),
                    f"p95 ≤ {limit} ms",
                    step_figures["p95_ms"] <= limit and step_figures["all_ok"],
                )
            else:
                figures[kind][f"at_{int(share * 100)}"] = step_figures
                figures[kind].setdefault("lightest", step_figures)
                result.add(
                    f"{label} {kind} at {int(share * 100)}% ({rate:,.0f} req/s)",
                    _latency_text(run.latencies),
                )
            if not step_figures["all_ok"]:
                result.notes.append(
                    f"{label} {kind} at {rate:,.0f} req/s: not every answer was 200 "
                    f"({step_figures['statuses']})."
                )
    return figures


# --- Section 4: visit submissions ---------------------------------------------------------


def submission_section(ctx: Context) -> Result:
    """Section 4: new visits posted through the real form by logged-in team leaders."""
    _check_database(ctx)
    result = Result("Visit submissions (the phone form, gunicorn)")
    step, saturation_seconds = _durations(ctx)
    rate = 4 if ctx.tiny else SUBMISSION_RATE
    figures: dict = {}
    _purge_queue(ctx)
    with _serving(ctx) as server:
        leaders = _leaders(ctx, server, 2 if ctx.tiny else 8)
        templates = _submission_templates(leaders)
        stored_before = Visit.objects.count()
        # Warm-up: each worker process connects and loads the form's querysets.
        warm = loadgen.run_rate(server.base_url, templates, rate=rate, seconds=min(2.0, step))

        at_rate = loadgen.run_rate(server.base_url, templates, rate=rate, seconds=step)
        figures["at_rate"] = _step_figures(at_rate)
        met = figures["at_rate"]["p95_ms"] <= 50 and _good(at_rate, 302)
        result.add(
            f"Submissions at {rate} per second",
            _latency_text(at_rate.latencies),
            "p95 ≤ 50 ms",
            met,
        )

        saturation_runs = []
        for _rep in range(ctx.reps):
            saturation_runs.append(
                loadgen.run_saturation(
                    server.base_url,
                    templates,
                    connections=SATURATION_CONNECTIONS,
                    seconds=saturation_seconds,
                )
            )
        # Only stored visits count: a refused or failed post is not throughput.
        saturation = Timing([run.count(302) / run.seconds for run in saturation_runs])
        figures["saturation"] = saturation.samples
        result.add(
            "Submissions at saturation",
            _rps_text(saturation).replace("req/s", "visits/s"),
            "≥ 300/s",
            saturation.median >= 300,
        )
        result.add(
            "Submission latency at saturation",
            _latency_text([x for run in saturation_runs for x in run.latencies]),
        )
        figures["gunicorn_peak_rss_mb"] = server.peak_rss_mb()

        _settle(server)
        runs = [warm, at_rate, *saturation_runs]
        _add_stored_check(result, figures, runs, Visit.objects.count() - stored_before)
    refused = sum(run.completed - run.count(302) + run.errors for run in runs)
    if refused:
        statuses = "; ".join(_statuses_text(run) for run in runs)
        result.notes.append(f"{refused:,} posts were not stored ({statuses}).")

    figures["queued_tasks_purged"] = _purge_queue(ctx)
    pending = PendingRollup.objects.count()
    started = time.perf_counter()
    rollup.rollup_pending()
    figures["rollup_after_seconds"] = time.perf_counter() - started
    figures["pending_buckets"] = pending
    result.add("Gunicorn worker peak RSS", f"{figures['gunicorn_peak_rss_mb']:,.0f} MB")
    result.notes += [
        f"{len(leaders)} team leaders, each logged in with a session and the CSRF token of "
        "their own form; every post is a new visit (a fresh submission id) of a new "
        "household, today, with two members, two services and two readiness answers.",
        "A post is successful when it is answered 302 (the redirect to the stored visit); "
        "stored visits are counted in the database before and after.",
        f"No worker ran: the {figures['queued_tasks_purged']:,} roll-up tasks queued on "
        f"commit were dropped from the bench broker afterwards, and the "
        f"{pending:,} pending buckets rolled up in "
        f"{figures['rollup_after_seconds']:.2f} s in this process, so that later "
        "sections start with none.",
    ]
    result.figures = figures
    return result


# --- Section 5: the mixed hour ------------------------------------------------------------


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def mixed_section(ctx: Context) -> Result:
    """Section 5: dashboards and submissions at once while a worker rolls up."""
    _check_database(ctx)
    seconds = ctx.mixed_seconds
    result = Result(f"Mixed load ({seconds:,.0f} s)")
    dashboard_rate, submission_rate = (5, 2) if ctx.tiny else (DASHBOARD_RATE, SUBMISSION_RATE)
    cookie = _session_cookie(ctx, _province_user())
    pages = _dashboard_pages()
    # Start from nothing pending, nothing queued.
    _purge_queue(ctx)
    rollup.rollup_pending()
    figures: dict = {}
    with _serving(ctx) as server, Worker(ctx) as worker:
        leaders = _leaders(ctx, server, 2 if ctx.tiny else 8)
        # Weights per second of schedule: the page mix and the leaders share the rates.
        page_weights = _split(dashboard_rate, len(pages))
        leader_weights = _split(submission_rate, len(leaders))
        templates = [
            _page_template("dashboard", [path], cookie, weight)
            for (_label, path), weight in zip(pages, page_weights, strict=True)
            if weight
        ]
        templates += [t for t in _submission_templates(leaders, leader_weights) if t.weight]
        # Warm-up: the default pages cached, the workers connected.
        loadgen.run_saturation(server.base_url, templates[: len(pages)], connections=4, seconds=1.0)
        stored_before = Visit.objects.count()
        version_before = RollupState.objects.values_list("version", flat=True).first() or 0

        running = loadgen.start_rate(
            server.base_url,
            templates,
            rate=dashboard_rate + submission_rate,
            seconds=seconds,
        )
        samples = []  # (seconds since start, oldest pending bucket's age, pending rows)
        started = time.monotonic()
        while not running.done():
            samples.append((time.monotonic() - started, *_oldest_pending()))
            time.sleep(0.5)
        load = running.wait()
        _settle(server)
        stored = Visit.objects.count() - stored_before
        drain_started = time.monotonic()
        drained = _wait_no_pending(timeout=max(30.0, seconds))
        drain_seconds = time.monotonic() - drain_started
        figures["worker_task_peak_rss_mb"] = worker.task_peak_rss_mb()
        figures["gunicorn_peak_rss_mb"] = server.peak_rss_mb()

    version_after = RollupState.objects.values_list("version", flat=True).first() or 0
    ages = [age for _at, age, _rows in samples]
    figures.update(
        dashboard=_step_figures(load, "dashboard"),
        submission=_step_figures(load, "submission"),
        staleness_max_s=max(ages, default=0.0),
        staleness_p95_s=percentile(ages, 0.95) if ages else 0.0,
        staleness_samples=samples,
        rollups=version_after - version_before,
        drain_seconds=drain_seconds,
        drained=drained,
    )
    result.add(
        f"Dashboard at {dashboard_rate} req/s", _latency_text(load.labels["dashboard"].latencies)
    )
    result.add(
        f"Submissions at {submission_rate} per second",
        _latency_text(load.labels["submission"].latencies),
    )
    result.add(
        "Staleness (age of the oldest pending bucket, every 0.5 s)",
        f"max {figures['staleness_max_s']:,.2f} s, p95 {figures['staleness_p95_s']:,.2f} s",
    )
    result.add(
        "Roll-ups that ran / left pending at the end",
        f"{figures['rollups']:,} / "
        + (f"none after {drain_seconds:,.1f} s" if drained else "some, after the timeout"),
    )
    _add_stored_check(result, figures, [load], stored)
    result.add(
        "Roll-up task (worker child) peak RSS", f"{figures['worker_task_peak_rss_mb']:,.0f} MB"
    )
    result.add("Gunicorn worker peak RSS", f"{figures['gunicorn_peak_rss_mb']:,.0f} MB")
    if not _good(load, 200, "dashboard") or not _good(load, 302, "submission"):
        result.notes.append(f"Not every answer was as expected: {_statuses_text(load)}.")
    result.notes += [
        f"One open-loop schedule of {dashboard_rate + submission_rate} requests per second: "
        f"{dashboard_rate} dashboard pages (province, the busiest district and commune, this "
        f"year, as users open them: cached until the next roll-up bumps the version) and "
        f"{submission_rate} new visits from {len(leaders)} team leaders.",
        "A Celery worker (one prefork child) ran the roll-ups each submission queued on "
        "commit; staleness is how long the oldest change not yet rolled up had waited.",
    ]
    result.figures = figures
    return result


def _oldest_pending() -> tuple[float, int]:
    oldest = PendingRollup.objects.aggregate(first=Min("marked_at"), rows=Count("pk"))
    if oldest["first"] is None:
        return 0.0, 0
    return max(0.0, (timezone.now() - oldest["first"]).total_seconds()), oldest["rows"]


def _wait_no_pending(*, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not PendingRollup.objects.exists():
            return True
        time.sleep(0.2)
    return False
