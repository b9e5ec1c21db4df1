"""The units a dashboard names (districts, communes, services, teams), cached with the
figures, and who may open which dashboard."""

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.http import Http404
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language

from accounts.models import ScopeLevel, User
from accounts.scopes import Scope, scope_for
from communes.models import Commune, VietnameseOrder
from outreach.models import Service, Team

from ..rollup import figures_late, rollup_state
from .periods import Period

# Cached figures also expire on their own, a bound on what a change nobody marks (a
# district renamed) can take to show; a commune edited in the admin is marked.
CACHE_SECONDS = 60 * 60


# --- The units, cached with the figures ----------------------------------------------


# Renewed whenever the cached figures or the tables rendered from them change shape:
# entries the code wrote before a deploy are then never read by the code after it (an
# export would fail on a figure the old entry lacks) while their run's key lasts.
CACHED_SHAPE = 2


@dataclass(frozen=True)
class DistrictUnit:
    id: int
    code: int
    name: str
    province_id: int


@dataclass(frozen=True)
class CommuneUnit:
    id: int
    code: int
    name: str
    district_id: int
    households: int | None
    new_rural_status: str


@dataclass(frozen=True)
class ServiceUnit:
    id: int
    code: str
    name: str


@dataclass
class Units:
    """The districts, communes and services, in display order, with lookups by id and code.

    They rarely change and every page needs them, so they are read once per roll-up
    version (two queries) and cached with the figures.
    """

    districts: list[DistrictUnit]
    communes: list[CommuneUnit]
    services: list[ServiceUnit]
    district_by_id: dict[int, DistrictUnit] = field(init=False)
    district_by_code: dict[int, DistrictUnit] = field(init=False)
    commune_by_id: dict[int, CommuneUnit] = field(init=False)
    commune_by_code: dict[int, CommuneUnit] = field(init=False)

    def __post_init__(self) -> None:
        self.district_by_id = {d.id: d for d in self.districts}
        self.district_by_code = {d.code: d for d in self.districts}
        self.commune_by_id = {c.id: c for c in self.communes}
        self.commune_by_code = {c.code: c for c in self.communes}

    def districts_of(self, province_id: int) -> list[DistrictUnit]:
        return [d for d in self.districts if d.province_id == province_id]

    def communes_of(self, district_ids: Iterable[int]) -> list[CommuneUnit]:
        wanted = set(district_ids)
        return [c for c in self.communes if c.district_id in wanted]


def _units_load() -> Units:
    communes = Commune.objects.select_related("district").order_by(
        VietnameseOrder("district__name"), VietnameseOrder("name"), "code"
    )
    districts: dict[int, DistrictUnit] = {}
    commune_units = []
    for commune in communes:
        district = commune.district
        districts.setdefault(
            district.pk,
            DistrictUnit(district.pk, district.code, district.name, district.province_id),
        )
        commune_units.append(
            CommuneUnit(
                commune.pk,
                commune.code,
                commune.name,
                commune.district_id,
                commune.households,
                commune.new_rural_status,
            )
        )
    services = [
        ServiceUnit(s.pk, s.code, s.name) for s in Service.objects.order_by("sort_order", "code")
    ]
    return Units(list(districts.values()), commune_units, services)


@dataclass(frozen=True)
class Snapshot:
    """What every dashboard request starts from: the roll-up it reads, and the units."""

    version: str  # the figures' key (rollup_state)
    last_run_at: datetime | None
    units: Units
    # When the oldest change the figures do not count yet was marked (None: none).
    pending_since: datetime | None = None

    def figures_late(self) -> bool:
        return figures_late(self.pending_since)


def snapshot() -> Snapshot:
    version, last_run_at, pending_since = rollup_state()
    units = _cached(f"dashboard:{CACHED_SHAPE}:{version}:units", _units_load)
    return Snapshot(version, last_run_at, units, pending_since)


def version_cached(snap: Snapshot, name: str, compute: Callable[[], Any]) -> Any:
    """A value that changes only with the roll-up version (and what `name` says: a
    place, a year), read once per version and cached as long as the figures."""
    return _cached(f"dashboard:{CACHED_SHAPE}:{snap.version}:{name}", compute)


# The process's own copies of the entries it read last. Every key here names a roll-up
# version, so its value never changes while the key is asked for: a copy spares the
# Redis read and the unpickling (the units: half a millisecond a request). Kept a minute
# at most, so that the shared entry's hour still bounds how long a change nobody marks
# can take to show; a few dozen entries, the pages being read now.
LOCAL_SECONDS = 60
LOCAL_ENTRIES = 48
_local: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_local_lock = threading.Lock()


def local_cache_clear() -> None:
    """Forget the process's copies (tests: each starts as a fresh process would)."""
    with _local_lock:
        _local.clear()


# One computation of a missing entry at a time in a process: right after a roll-up the
# pages being read all miss their new entries at once, and each request computing the
# same figures (80 ms of CPU each at M) queued the next ones behind it (the mixed
# minute's pages waited 400 ms at p95). The others wait for the one computing, then
# read its copy. Per process: two processes may each compute an entry once.
FLIGHTS_KEPT = 256
_flights: dict[str, threading.Lock] = {}


def _local_get(key: str, now: float) -> Any:
    with _local_lock:
        held = _local.get(key)
        if held is not None and held[0] > now:
            _local.move_to_end(key)
            return held[1]
    return None


def _local_put(key: str, value: Any, now: float) -> None:
    with _local_lock:
        _local[key] = (now + LOCAL_SECONDS, value)
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def _cached(key: str, compute: Callable[[], Any]) -> Any:
    """The cached value, or a fresh one (always, while the cache is away). The values
    are shared between the process's requests: nothing may change them."""
    value = _local_get(key, time.monotonic())
    if value is not None:
        return value
    value = cache.get(key)
    if value is None:
        with _local_lock:
            if len(_flights) >= FLIGHTS_KEPT:
                _flights.clear()  # a waiting thread holds its lock still
            flight = _flights.setdefault(key, threading.Lock())
        waited = not flight.acquire(blocking=False)
        if waited:
            flight.acquire()
        try:
            if waited:
                # Computed by the thread this one waited for (or by another process)?
                value = _local_get(key, time.monotonic())
                if value is None:
                    value = cache.get(key)
            if value is None:
                value = compute()
                cache.set(key, value, CACHE_SECONDS)
            _local_put(key, value, time.monotonic())
        finally:
            flight.release()
        return value
    _local_put(key, value, time.monotonic())
    return value


class LazyFigures(SimpleLazyObject):
    """A page's figures, read from the cache (or computed) only when first used: a page
    whose rendered tables are cached (views.py) never loads them. `cache_key` names the
    figures, for the rendered tables' key."""

    def __init__(self, key: str, load: Callable[[], Any]):
        super().__init__(load)
        self.__dict__["cache_key"] = key


def figures_cached(
    snap: Snapshot, user: User, page: str, place: Any, period: Period, compute: Callable
) -> Any:
    today = timezone.localdate()
    language = get_language()
    parts = [page, str(place), period.key, language or "", today.isoformat()]
    parts.append(scope_for(user).cache_key)
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    key = f"dashboard:{CACHED_SHAPE}:{snap.version}:{digest}"

    def load() -> Any:
        # In the language the key names, whenever the figures are first used.
        with translation.override(language):
            return _cached(key, compute)

    return LazyFigures(key, load)


def cached_or_render(key: str, render: Callable[[], str]) -> str:
    """Rendered HTML from the cache, or rendered now and cached; a cache that is down
    only costs the rendering."""
    return _cached(key, render)


# --- Who may open which dashboard ------------------------------------------------------


def sees_province(user: User) -> bool:
    """Whether the user sees the province's tables, not only its totals."""
    scope = scope_for(user)
    return scope.sees_everything or scope.level == ScopeLevel.PROVINCE


def province_for(user: User, units: Units) -> int | None:
    """The province whose totals the user sees: their own, or their district's."""
    scope = scope_for(user)
    if scope.level == ScopeLevel.PROVINCE:
        return scope.province_id
    if scope.sees_everything or scope.level == ScopeLevel.DISTRICT:
        districts = [
            units.district_by_id[i] for i in scope.district_ids if i in units.district_by_id
        ] or units.districts
        return districts[0].province_id if districts else None
    return None


def reaches(
    scope: Scope,
    district: DistrictUnit,
    *,
    commune: CommuneUnit | None = None,
    team_id: int | None = None,
) -> bool:
    """Whether the scope reaches the dashboard of a district, or of a commune (give it),
    or of a team (give its id too). A commune official reaches no district's page, a team
    leader no commune's: they see their own figures."""
    if scope.sees_everything:
        return True
    if scope.level == ScopeLevel.PROVINCE:
        return district.province_id == scope.province_id
    if scope.level == ScopeLevel.DISTRICT:
        return district.id in scope.district_ids
    if scope.level == ScopeLevel.COMMUNE:
        return commune is not None and commune.id in scope.commune_ids
    if scope.level == ScopeLevel.TEAM:
        return team_id is not None and team_id in scope.team_ids
    return False


def district_in_scope(user: User, units: Units, code: int) -> DistrictUnit:
    """A district whose dashboard the user may open (provincial staff, its own staff)."""
    district = units.district_by_code.get(code)
    if district is None or not reaches(scope_for(user), district):
        raise Http404
    return district


def commune_in_scope(user: User, units: Units, code: int) -> CommuneUnit:
    """A commune whose dashboard the user may open."""
    commune = units.commune_by_code.get(code)
    if commune is None:
        raise Http404
    district = units.district_by_id[commune.district_id]
    if not reaches(scope_for(user), district, commune=commune):
        raise Http404
    return commune


@dataclass(frozen=True)
class TeamUnit:
    id: int
    name: str
    commune: CommuneUnit
    formed_on: date
    dissolved_on: date | None


def team_in_scope(user: User, units: Units, pk: int) -> TeamUnit:
    """A team whose figures the user may see: its leader, its commune and above (one query)."""
    fields = ("id", "name", "commune_id", "formed_on", "dissolved_on")
    team = Team.objects.filter(pk=pk).values(*fields).first()
    if team is None or team["commune_id"] not in units.commune_by_id:
        raise Http404
    commune = units.commune_by_id[team["commune_id"]]
    district = units.district_by_id[commune.district_id]
    if not reaches(scope_for(user), district, commune=commune, team_id=team["id"]):
        raise Http404
    return TeamUnit(team["id"], team["name"], commune, team["formed_on"], team["dissolved_on"])


def landing_for(user: User, units: Units) -> tuple[str, int] | None:
    """Where /dashboard/ sends a commune official or a team leader: ("commune", code) or
    ("team", pk); None for those who see the province's figures."""
    scope = scope_for(user)
    if scope.level == ScopeLevel.COMMUNE and scope.commune_ids:
        commune = units.commune_by_id.get(min(scope.commune_ids))
        return ("commune", commune.code) if commune else None
    if scope.level == ScopeLevel.TEAM and scope.team_ids:
        return ("team", min(scope.team_ids))
    return None
