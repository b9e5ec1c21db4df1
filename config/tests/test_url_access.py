"""Every URL the project routes, walked as every role, with objects inside and outside
the role's scope: nothing outside the scope is ever shown, downloaded or changed.

The URLs come from the resolver, Django admin's included. Each named URL has an entry in
ROUTES (portal pages) or is one of the admin's (ADMIN_ROUTES, and the five views of
each model in ADMIN_OBJECTS); a URL the tables do not know fails the walk, so a page
added later has to say here who may open it and how its address is filled.

The world has four teams: A1 and A2 in Xã Hải Đông, B1 in another commune of Huyện Hải
Hậu and C1 in Phường Trần Tế Xương (Thành phố Nam Định), each with a hamlet, a leader with
a login, a member, a household and a visit; every commune and both districts hold a
training session with an attendee, and the province a planned one; Huyện Hải Hậu's
session also has an attendee from Xã Hải Đông, whom Hải Đông's official reads by name
while the district's own attendee is for those at or above the district's level; learners
of online courses count in communes, districts and the province; two officials and two
provincial staff have each uploaded an import. Every name and address carries a marker
(PV_TEAM_C1_PV...) registered with the unit it belongs to. Any response, whatever its
status, that holds a marker of a unit the role does not see is a leak; a list, an
export or a detail page the role may read must show the markers it does see, so that a
page that shows nothing cannot pass.

The district staff login also has the admin's staff status, as an administrator may
tick it: the admin filters nothing by scope, so it must stay closed to a scoped login.

The walk only GETs; POSTs go to the object URLs a role may not use, and must change
nothing. The hidden-field tampering of the visit and member forms is checked last.
"""

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

import openpyxl
import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory, commune_official, district_staff, province_staff
from communes.models import Commune, District, Province
from communes.services import divisions_load
from dashboard.models import Figure, ProvincialIndicator, Target
from dashboard.rollup import rollup_full
from dashboard.services import indicator_save, target_save
from outreach.imports import member_import_check, member_import_create
from outreach.models import Household, Member, MemberImport, Service, Team, Visit
from outreach.services import member_login_create, visit_record
from outreach.services.visits import VisitData
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory
from trainings.imports import course_import_check, course_import_create
from trainings.models import (
    Attendance,
    Audience,
    CourseEnrolment,
    CourseImport,
    Headcount,
    Level,
    Topic,
    TrainingSession,
)
from trainings.services import attendance_add, course_enrolment_save, headcount_set, session_create

TODAY = timezone.localdate()
HAI_DONG, TRAN_TE_XUONG = 14269, 13636

ANON, NOSCOPE, PROVINCE, DISTRICT, OFFICIAL, LEADER, SUPER = (
    "anonymous",
    "no scope",
    "provincial staff",
    "district staff",
    "commune official",
    "team leader",
    "superuser",
)
ROLES = [ANON, NOSCOPE, PROVINCE, DISTRICT, OFFICIAL, LEADER, SUPER]
SCOPED = {PROVINCE, DISTRICT, OFFICIAL, LEADER, SUPER}
DENIED = {403, 404}

# The teams, their communes and the communes' districts.
SIDE_COMMUNE = {"A1": "A", "A2": "A", "B1": "B", "C1": "C"}
COMMUNE_DISTRICT = {"A": "HH", "B": "HH", "C": "ND"}

# A unit is what a marked object belongs to: ("team", "A1"), ("commune", "A"),
# ("district", "HH"), ("province",); a course learner of a district or of the province,
# which only that district's staff and the province see; an attendee of a district's
# session from no place below it ("district-list", "HH"), whom only those at or above
# the district's level read by name; and ("owner", who) for an import, which is its
# uploader's working file.
Unit = tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    level: str | None  # None: not logged in
    district: str | None = None
    commune: str | None = None
    team: str | None = None


PROFILES = {
    ANON: Profile(None),
    NOSCOPE: Profile("none"),
    PROVINCE: Profile("province"),
    DISTRICT: Profile("district", district="HH"),
    OFFICIAL: Profile("commune", district="HH", commune="A"),
    LEADER: Profile("team", district="HH", commune="A", team="A1"),
    SUPER: Profile("all"),
}


def sees(role: str, unit: Unit | None) -> bool:
    """Whether the role may see what belongs to the unit (None: the role's own pages).

    The superuser sees every import's text too (the admin lists them all), though the
    portal opens an import to its uploader only: the routes say so (`uploader`).
    """
    p = PROFILES[role]
    if p.level in (None, "none"):
        return False
    if unit is None or p.level == "all":
        return True
    kind, *key = unit
    if kind == "owner":
        return key[0] == role
    if p.level == "province":
        return True
    if kind == "team":
        team = key[0]
        commune = SIDE_COMMUNE[team]
        return {
            "district": COMMUNE_DISTRICT[commune] == p.district,
            "commune": commune == p.commune,
            "team": team == p.team,
        }[p.level]
    if kind == "commune":
        if p.level == "district":
            return COMMUNE_DISTRICT[key[0]] == p.district
        return key[0] == p.commune
    if kind == "district":
        return key[0] == p.district
    if kind == "province":
        return True
    if kind == "learners-district":
        return p.level == "district" and key[0] == p.district
    if kind == "district-list":
        return p.level == "district" and key[0] == p.district
    if kind == "learners-province":
        return False
    raise AssertionError(f"unknown unit {unit}")


def marker(kind: str, key: str) -> str:
    # Plain capitals and underscores survive HTML escaping, CSV, XLSX and JSON alike; the
    # closing PV keeps PV_TEAM_A1_PV from matching inside a longer marker.
    return f"PV_{kind}_{key}_PV"


# --- The world ---------------------------------------------------------------------------


@dataclass
class Side:
    key: str
    commune: Commune
    hamlet: object
    team: Team
    leader_member: Member
    member: Member
    leader: object
    household: Household
    visit: Visit

    @property
    def unit(self) -> Unit:
        return ("team", self.key)

    @property
    def commune_unit(self) -> Unit:
        return ("commune", SIDE_COMMUNE[self.key])


@dataclass
class Session:
    key: str
    unit: Unit
    session: TrainingSession
    attendance: Attendance | None
    # Attendees from a commune below the session's level.
    guests: list[Attendance] = field(default_factory=list)


@dataclass
class World:
    communes: dict[str, Commune]
    districts: dict[str, District]
    sides: dict[str, Side]
    sessions: dict[str, Session]
    enrolments: dict[str, tuple[CourseEnrolment, Unit]]
    member_imports: dict[str, tuple[MemberImport, Unit]]
    course_imports: dict[str, tuple[CourseImport, Unit]]
    target: Target
    indicator: ProvincialIndicator
    users: dict[str, object]
    others: dict[str, object]
    markers: dict[str, Unit] = field(default_factory=dict)

    def hidden_from(self, role: str) -> list[str]:
        return [text for text, unit in self.markers.items() if not sees(role, unit)]

    def seen_by(self, role: str, kind: str) -> list[str]:
        """The role's visible markers of a kind (PV_<kind>_...)."""
        return [
            text
            for text, unit in self.markers.items()
            if text.startswith(f"PV_{kind}_") and sees(role, unit)
        ]


MEMBER_IMPORT_HEADER = [
    "STT",
    "Mã xã",
    "Tên tổ",
    "Thôn/xóm",
    "Họ và tên",
    "Giới tính",
    "Năm sinh",
    "Số điện thoại",
    "Vai trò",
    "Đoàn viên",
    "Đơn vị",
    "Tham gia Zalo OA",
    "Ngày tham gia Zalo OA",
    "Ngày tham gia",
]
COURSE_IMPORT_HEADER = [
    "STT",
    "Họ và tên",
    "Đơn vị công tác",
    "Email",
    "Số điện thoại",
    "Khóa học",
    "Ngày đăng ký",
    "Ngày hoàn thành",
    "Điểm",
]


def _xlsx(header: list, rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(header)
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _build_world() -> World:
    divisions_load()
    markers: dict[str, Unit] = {}

    def mark(kind: str, key: str, unit: Unit) -> str:
        text = marker(kind, key)
        markers[text] = unit
        return text

    hai_dong = Commune.objects.select_related("district").get(code=HAI_DONG)
    neighbour = (
        Commune.objects.filter(district=hai_dong.district).exclude(pk=hai_dong.pk).order_by("code")
    ).first()
    far = Commune.objects.select_related("district").get(code=TRAN_TE_XUONG)
    communes = {"A": hai_dong, "B": neighbour, "C": far}
    districts = {"HH": hai_dong.district, "ND": far.district}
    province = Province.objects.get()

    root = UserFactory(is_superuser=True, is_staff=True, full_name="Quản trị")
    users = {
        NOSCOPE: UserFactory(scope_level="", full_name="Không phạm vi"),
        PROVINCE: province_staff(province, full_name="Cán bộ tỉnh"),
        # With the admin's staff status, as an administrator may tick it: the admin must
        # not open to a scoped login.
        DISTRICT: district_staff(districts["HH"], full_name="Cán bộ huyện", is_staff=True),
        OFFICIAL: commune_official(hai_dong, full_name="Cán bộ xã"),
        SUPER: root,
    }
    others = {
        "official C": commune_official(far, full_name="Cán bộ phường"),
        "provincial staff 2": province_staff(province, full_name="Cán bộ tỉnh khác"),
    }

    services = list(Service.objects.filter(code="ecommerce"))
    sides = {}
    for key, commune_key in SIDE_COMMUNE.items():
        commune = communes[commune_key]
        unit, commune_unit = ("team", key), ("commune", commune_key)
        hamlet = HamletFactory(commune=commune, name=mark("HAMLET", key, commune_unit))
        team = TeamFactory(commune=commune, hamlet=hamlet, name=mark("TEAM", key, unit))
        leader_member = MemberFactory(
            team=team, role=Member.Role.LEADER, full_name=mark("LEADER", key, unit)
        )
        member = MemberFactory(team=team, full_name=mark("MEMBER", key, unit))
        leader, _password = member_login_create(by=root, member=leader_member)
        visit, _created = visit_record(
            by=leader,
            team=team,
            submission_id=uuid.uuid4(),
            hamlet=hamlet,
            address_label=mark("HOUSEHOLD", key, commune_unit),
            head_name=mark("HEAD", key, commune_unit),
            data=VisitData(
                visited_on=TODAY,
                members=[leader_member, member],
                services=services,
                residents_helped=2,
                notes=mark("VISITNOTE", key, unit),
            ),
        )
        sides[key] = Side(
            key, commune, hamlet, team, leader_member, member, leader, visit.household, visit
        )
    users[LEADER] = sides["A1"].leader

    topics = [Topic.objects.order_by("pk").first()]
    sessions = {}
    places = [
        ("A", ("commune", "A"), Level.COMMUNE, None, communes["A"]),
        ("B", ("commune", "B"), Level.COMMUNE, None, communes["B"]),
        ("C", ("commune", "C"), Level.COMMUNE, None, communes["C"]),
        ("HH", ("district", "HH"), Level.DISTRICT, districts["HH"], None),
        ("ND", ("district", "ND"), Level.DISTRICT, districts["ND"], None),
        ("PROV", ("province",), Level.PROVINCE, None, None),
    ]
    for key, unit, level, district, commune in places:
        # The province's session is still planned: its printable sheet is a page too.
        held = key != "PROV"
        session = session_create(
            by=root,
            title=mark("SESSION", key, unit),
            format=TrainingSession.Format.COMMUNITY_TRAINING,
            audience=Audience.RESIDENTS,
            level=level,
            district=district,
            commune=commune,
            starts_on=TODAY,
            ends_on=TODAY,
            topics=topics,
            status=TrainingSession.Status.HELD if held else TrainingSession.Status.PLANNED,
        )
        attendance, guests = None, []
        # A district's list names its own attendees to those at or above its level only.
        listed = ("district-list", key) if level == Level.DISTRICT else unit
        if held:
            attendance = attendance_add(
                by=root,
                session=session,
                full_name=mark("ATTENDEE", key, listed),
                agency=mark("AGENCY", key, listed),
            )
        if key == "HH":
            guests.append(
                attendance_add(
                    by=root,
                    session=session,
                    full_name=mark("ATTENDEE", "HH_A", ("commune", "A")),
                    agency=f"UBND {communes['A'].name}",
                )
            )
        sessions[key] = Session(key, unit, session, attendance, guests)
    headcount_set(by=root, session=sessions["C"].session, total=10)

    enrolments = {}
    learners = [
        ("A", ("commune", "A"), {"commune": communes["A"]}),
        ("C", ("commune", "C"), {"commune": communes["C"]}),
        ("HH", ("learners-district", "HH"), {"district": districts["HH"]}),
        ("ND", ("learners-district", "ND"), {"district": districts["ND"]}),
        ("PROV", ("learners-province",), {}),
    ]
    for key, unit, place in learners:
        enrolment, _created, _changed = course_enrolment_save(
            by=root,
            course="Chuyển đổi số cơ bản",
            full_name=mark("LEARNER", key, unit),
            enrolled_on=TODAY,
            completed_on=TODAY,
            **place,
        )
        enrolments[key] = (enrolment, unit)

    member_imports = {}
    for key, uploader, owner, commune in [
        ("A", users[OFFICIAL], OFFICIAL, communes["A"]),
        ("C", others["official C"], "official C", communes["C"]),
    ]:
        unit = ("owner", owner)
        row = [1, commune.code, mark("IMPORTTEAM", key, unit), "", mark("IMPORTROW", key, unit)]
        row += ["Nam", 1990, f"097{commune.code:07d}", "Thành viên", "có", "", "không", "", ""]
        member_import = member_import_create(
            by=uploader,
            file_name=f"{mark('IMPORTFILE', key, unit)}.xlsx",
            content=_xlsx(MEMBER_IMPORT_HEADER, [row]),
            create_logins=False,
            language="vi",
        )
        member_import_check(member_import)
        member_import.refresh_from_db()
        member_imports[key] = (member_import, unit)

    course_imports = {}
    for key, uploader, owner in [
        ("MINE", users[PROVINCE], PROVINCE),
        ("THEIRS", others["provincial staff 2"], "provincial staff 2"),
    ]:
        unit = ("owner", owner)
        row = [1, mark("COURSEROW", key, unit), "UBND xã Hải Đông", "", "", "Kỹ năng số"]
        row += [TODAY.strftime("%d/%m/%Y"), "", ""]
        course_import = course_import_create(
            by=uploader,
            file_name=f"{mark('COURSEFILE', key, unit)}.xlsx",
            content=_xlsx(COURSE_IMPORT_HEADER, [row]),
            language="vi",
        )
        course_import_check(course_import)
        course_import.refresh_from_db()
        course_imports[key] = (course_import, unit)

    target = target_save(
        by=root,
        year=TODAY.year,
        figure=Figure.HOUSEHOLDS_REACHED,
        value=100,
        commune=communes["C"],
    )
    indicator = indicator_save(by=root, year=TODAY.year - 1, dti_rank=12)

    # What the admin lists of the axes app need a row to show.
    attempt = {"user_agent": "test", "ip_address": "10.0.0.1", "http_accept": "*/*"}
    attempt |= {"username": "someone", "path_info": "/accounts/login/"}
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**attempt)
    AccessFailureLog.objects.create(**attempt)

    rollup_full()
    return World(
        communes=communes,
        districts=districts,
        sides=sides,
        sessions=sessions,
        enrolments=enrolments,
        member_imports=member_imports,
        course_imports=course_imports,
        target=target,
        indicator=indicator,
        users=users,
        others=others,
        markers=markers,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, built once for the module in a transaction rolled back at its end; each
    test runs in a savepoint inside it, so what a test writes goes with the test."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = _build_world()
        yield built
        transaction.set_rollback(True)


# --- The routes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One address of a route: its kwargs and query, and the object it addresses."""

    kwargs: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    unit: Unit | None = None  # None: the page of the user's own scope
    marker: str | None = None  # what the page shows of its object
    status: int | None = None  # the answer to those who may open it, if not the route's
    session: TrainingSession | None = None
    owner: str | None = None
    # A filter naming another place's objects: the page may show nothing, never them.
    probe: bool = False

    def url(self, name: str) -> str:
        url = reverse(name, kwargs=self.kwargs)
        return f"{url}?{urlencode(self.query)}" if self.query else url


Fill = Callable[[World], list[Target]]
Allowed = Callable[[str, Target], bool]


@dataclass(frozen=True)
class Route:
    fill: Fill
    # Who may use it for an object in their scope (and, for the rest, 403 or 404).
    allowed: Allowed
    status: int = 200
    # The markers a page must show to a role that may open it (beyond its object's).
    shows: Callable[[World, str], list[str]] | None = None
    # Accepts POST: walked with POSTs to the objects the role may not use.
    writes: bool = False
    # Only POST: a GET is answered 405 (after the login, for some).
    post_only: bool = False
    post: Callable[[World, Target], dict] | None = None


def roles(*names: str) -> Allowed:
    return lambda role, target: role in names


def uploader(role: str, target: Target) -> bool:
    return target.owner == role


# Sessions are kept at their own level: the province's by its staff, and so on.
KEEPS = {Level.PROVINCE: PROVINCE, Level.DISTRICT: DISTRICT, Level.COMMUNE: OFFICIAL}


def keeper(role: str, target: Target) -> bool:
    return role in (SUPER, KEEPS[target.session.level])


def page(**kwargs) -> Fill:
    return lambda w: [Target(**kwargs)]


def formats(**kwargs) -> Fill:
    return lambda w: [Target({"fmt": fmt}, **kwargs) for fmt in ("csv", "xlsx")]


def per_side(kwargs: Callable[[Side], dict], text: Callable[[Side], str], *, commune=False):
    """One target per team (or, with commune, per team's commune-level object)."""

    def fill(w: World) -> list[Target]:
        return [
            Target(
                kwargs(s),
                unit=s.commune_unit if commune else s.unit,
                marker=text(s),
            )
            for s in w.sides.values()
        ]

    return fill


def per_session(kwargs: Callable[[Session], dict], *, held=True) -> Fill:
    """One target per session: the held ones (with an attendee), or all with held=None."""

    def fill(w: World) -> list[Target]:
        return [
            Target(kwargs(s), unit=s.unit, marker=s.session.title, session=s.session)
            for s in w.sessions.values()
            if held is None or (s.attendance is not None) == held
        ]

    return fill


def attendance_exports(w: World) -> list[Target]:
    return [
        Target(
            {"pk": str(s.session.pk), "fmt": fmt},
            unit=s.unit,
            marker=attendance.full_name,
            session=s.session,
        )
        for s in w.sessions.values()
        if s.attendance
        for attendance in (s.attendance, *s.guests)
        for fmt in ("csv", "xlsx")
    ]


def sheets(w: World) -> list[Target]:
    # A held session's sheet sends back to its page; a planned one's is printed.
    return [
        Target(
            {"pk": s.session.pk},
            unit=s.unit,
            marker=s.session.title,
            status=302 if s.attendance else 200,
        )
        for s in w.sessions.values()
    ]


def attendance_removals(w: World) -> list[Target]:
    own = [
        Target(
            {"pk": s.session.pk, "attendance_id": s.attendance.pk}, unit=s.unit, session=s.session
        )
        for s in w.sessions.values()
        if s.attendance
    ]
    # Hải Đông's session with another session's attendee: that attendee is not on its list.
    ours = w.sessions["A"].session
    crossed = [
        Target({"pk": ours.pk, "attendance_id": s.attendance.pk}, unit=s.unit, session=ours)
        for s in w.sessions.values()
        if s.attendance and s.key != "A"
    ]
    return own + crossed


def probing(fill: Fill, *queries: Callable[[World], dict]) -> Fill:
    """The page, and the page again with its filters naming objects of other places."""

    def combined(w: World) -> list[Target]:
        targets = fill(w)
        first = targets[0]
        return targets + [
            replace(first, query={**first.query, **query(w)}, probe=True) for query in queries
        ]

    return combined


def theirs(**paths: Callable[[World], object]) -> list[Callable[[World], dict]]:
    """A filter naming the objects of a team outside the leader's scope (A2), and one
    naming those of a team outside everyone's below the province (C1)."""
    return [
        lambda w, key=key: {name: get(w.sides[key]) for name, get in paths.items()}
        for key in ("A2", "C1")
    ]


def imports(which: str) -> Fill:
    def fill(w: World) -> list[Target]:
        found = w.member_imports if which == "member" else w.course_imports
        return [
            Target(
                {"pk": imp.pk}, unit=unit, marker=imp.file_name.removesuffix(".xlsx"), owner=unit[1]
            )
            for imp, unit in found.values()
        ]

    return fill


def dashboard_places(level: str) -> Fill:
    def fill(w: World) -> list[Target]:
        if level == "district":
            return [Target({"code": d.code}, unit=("district", k)) for k, d in w.districts.items()]
        return [
            Target({"code": c.code}, unit=("commune", k), marker=marker("TEAM", f"{k}1"))
            for k, c in w.communes.items()
        ]

    return fill


def dashboard_teams(w: World) -> list[Target]:
    return [Target({"pk": s.team.pk}, unit=s.unit, marker=s.team.name) for s in w.sides.values()]


def dashboard_exports(w: World) -> list[Target]:
    # Both formats write the rows of the same figures, so each table is fetched in one of
    # them: the leak would be in the figures, which every place's table is checked for.
    targets = []
    for key, commune in w.communes.items():
        place, unit = {"commune": commune.code}, ("commune", key)
        targets += [
            Target({"table": "teams", "fmt": "xlsx"}, place, unit, marker("TEAM", f"{key}1")),
            Target({"table": "hamlets", "fmt": "csv"}, place, unit, marker("HAMLET", f"{key}1")),
        ]
    for key, district in w.districts.items():
        place = {"district": district.code}
        targets.append(Target({"table": "communes", "fmt": "csv"}, place, ("district", key)))
    # The province's own tables, for those who see them.
    targets.append(Target({"table": "districts", "fmt": "xlsx"}))
    return targets


def reports(w: World) -> list[Target]:
    return [
        Target({"code": d.code, "year": TODAY.year, "month": TODAY.month}, unit=("district", k))
        for k, d in w.districts.items()
    ]


DASHBOARD_READERS = {
    # District staff see the province's tiles, not its tables.
    "province": {PROVINCE, SUPER},
    # A commune official sees their own commune's page, not their district's.
    "district": {PROVINCE, DISTRICT, SUPER},
    "commune": {PROVINCE, DISTRICT, OFFICIAL, SUPER},
}


def dashboard_reader(role: str, target: Target) -> bool:
    """Who reads a dashboard (or its tables) at the level of the target's place."""
    return role in DASHBOARD_READERS[target.unit[0] if target.unit else "province"]


def own(kind: str) -> Callable[[World, str], list[str]]:
    """An uploader's own imports: nobody else's, not even a superuser's."""
    return lambda w, role: [
        text
        for text, unit in w.markers.items()
        if text.startswith(f"PV_{kind}_") and unit == ("owner", role)
    ]


def visible_visits(w: World, role: str) -> list[str]:
    # A visit is its team's; the list names its household.
    return [s.household.address_label for s in w.sides.values() if sees(role, s.unit)]


def kinds(*names: str) -> Callable[[World, str], list[str]]:
    return lambda w, role: [text for name in names for text in w.seen_by(role, name)]


VIEWERS = roles(PROVINCE, DISTRICT, OFFICIAL, LEADER, SUPER)
TRAINING_READERS = roles(PROVINCE, DISTRICT, OFFICIAL, SUPER)
ROSTER_KEEPERS = roles(OFFICIAL, LEADER, SUPER)
COMMUNE_KEEPERS = roles(OFFICIAL, SUPER)
PROVINCIAL = roles(PROVINCE, SUPER)
HISTORY_READERS = TRAINING_READERS
# Open to everybody, signed in or not.
PUBLIC = {
    "home",
    "healthz",
    "healthz_figures",
    "metrics",
    "login",
    "logout",
    "set_language",
    "web_manifest",
    "service_worker",
}
EVERYONE = roles(*ROLES)

SESSION_PROBES = [
    *theirs(commune=lambda s: s.commune.pk),
    *theirs(district=lambda s: s.commune.district_id),
]
DISTRICT_PROBES = theirs(district=lambda s: s.commune.district.code)
# The visit and household lists' places: a district, a commune and one of its hamlets.
PLACE_PROBES = [
    *theirs(district=lambda s: s.commune.district_id),
    *theirs(commune=lambda s: s.commune.pk),
    *theirs(commune=lambda s: s.commune.pk, hamlet=lambda s: s.hamlet.pk),
]

ROUTES: dict[str, Route] = {
    # Project pages: open to everybody.
    "home": Route(page(), EVERYONE),
    "healthz": Route(page(), EVERYONE),
    # Times only (the oldest change's age, heartbeats), no place or person: for monitoring.
    "healthz_figures": Route(page(), EVERYONE),
    # The web app manifest: the portal's name and icons, for installing it.
    "web_manifest": Route(page(), EVERYONE),
    # The service worker: the same script for everyone, static URLs only.
    "service_worker": Route(page(), EVERYONE),
    # Prometheus's figures answer by address, not login: the walk's client comes from
    # 127.0.0.1, the default monitoring host, so every role reads them, and they must
    # name nothing of anyone's scope. Any other address gets a 404 (test_metrics.py).
    "metrics": Route(page(), EVERYONE),
    "login": Route(page(), EVERYONE),
    # Logging out is a POST; a GET changes nothing.
    "logout": Route(page(), roles(), post_only=True),
    "set_language": Route(page(query={"next": "/"}), EVERYONE, status=302),
    # Teams, members and hamlets.
    "outreach:team_list": Route(
        probing(
            page(),
            *theirs(commune=lambda s: s.commune.pk),
            *theirs(hamlet=lambda s: s.hamlet.pk, status=lambda s: "all"),
        ),
        VIEWERS,
        shows=kinds("TEAM"),
    ),
    "outreach:team_create": Route(page(), roles(OFFICIAL), writes=True),
    "outreach:team_detail": Route(
        per_side(lambda s: {"pk": s.team.pk}, lambda s: s.member.full_name), VIEWERS
    ),
    "outreach:team_edit": Route(
        per_side(lambda s: {"pk": s.team.pk}, lambda s: s.team.name),
        COMMUNE_KEEPERS,
        writes=True,
        post=lambda w, t: {"name": "PV_TAMPERED_PV", "formed_on": "2023-03-01"},
    ),
    "outreach:team_dissolve": Route(
        per_side(lambda s: {"pk": s.team.pk}, lambda s: s.team.name),
        COMMUNE_KEEPERS,
        writes=True,
        post=lambda w, t: {"dissolved_on": TODAY.isoformat(), "members": "leave"},
    ),
    "outreach:member_create": Route(
        per_side(lambda s: {"team_id": s.team.pk}, lambda s: s.team.name),
        ROSTER_KEEPERS,
        writes=True,
        post=lambda w, t: {
            "full_name": "PV_TAMPERED_PV",
            "role": Member.Role.MEMBER,
            "affiliation": Member.Affiliation.OTHER,
            "joined_on": TODAY.isoformat(),
        },
    ),
    "outreach:member_list": Route(
        probing(
            page(),
            *theirs(team=lambda s: s.team.pk, status=lambda s: "all"),
            *theirs(commune=lambda s: s.commune.pk, q=lambda s: "PV"),
        ),
        VIEWERS,
        shows=kinds("MEMBER", "LEADER"),
    ),
    "outreach:member_detail": Route(
        per_side(lambda s: {"pk": s.member.pk}, lambda s: s.member.full_name), VIEWERS
    ),
    "outreach:member_edit": Route(
        per_side(lambda s: {"pk": s.member.pk}, lambda s: s.member.full_name),
        ROSTER_KEEPERS,
        writes=True,
        post=lambda w, t: {
            "full_name": "PV_TAMPERED_PV",
            "role": Member.Role.MEMBER,
            "affiliation": Member.Affiliation.OTHER,
            "joined_on": "2023-03-01",
        },
    ),
    "outreach:member_deactivate": Route(
        per_side(lambda s: {"pk": s.member.pk}, lambda s: s.member.full_name),
        ROSTER_KEEPERS,
        writes=True,
        post=lambda w, t: {"left_on": TODAY.isoformat()},
    ),
    "outreach:member_login_create": Route(
        per_side(lambda s: {"pk": s.leader_member.pk}, lambda s: s.leader_member.full_name),
        COMMUNE_KEEPERS,
        post_only=True,
    ),
    "outreach:member_login_reset": Route(
        per_side(lambda s: {"pk": s.leader_member.pk}, lambda s: s.leader_member.full_name),
        COMMUNE_KEEPERS,
        post_only=True,
    ),
    # The history of a record: for those who read the audit trail.
    "outreach:team_history": Route(
        per_side(lambda s: {"pk": s.team.pk}, lambda s: s.team.name), HISTORY_READERS
    ),
    "outreach:member_history": Route(
        per_side(lambda s: {"pk": s.member.pk}, lambda s: s.member.full_name), HISTORY_READERS
    ),
    "outreach:visit_history": Route(
        per_side(lambda s: {"pk": s.visit.pk}, lambda s: s.household.address_label),
        HISTORY_READERS,
    ),
    "outreach:hamlet_list": Route(
        probing(page(), *theirs(commune=lambda s: s.commune.pk)), VIEWERS, shows=kinds("HAMLET")
    ),
    "outreach:hamlet_export": Route(
        probing(formats(), *theirs(commune=lambda s: s.commune.pk)),
        VIEWERS,
        shows=kinds("HAMLET"),
    ),
    "outreach:hamlet_create": Route(page(), roles(OFFICIAL), writes=True),
    "outreach:hamlet_edit": Route(
        per_side(lambda s: {"pk": s.hamlet.pk}, lambda s: s.hamlet.name, commune=True),
        COMMUNE_KEEPERS,
        writes=True,
        post=lambda w, t: {"name": "PV_TAMPERED_PV", "is_active": "on"},
    ),
    # Visits and households.
    "outreach:visit_list": Route(
        probing(page(), *PLACE_PROBES, *theirs(member=lambda s: s.member.pk)),
        VIEWERS,
        shows=visible_visits,
    ),
    "outreach:visit_export": Route(
        probing(formats(), *PLACE_PROBES, *theirs(member=lambda s: s.member.pk)),
        VIEWERS,
        shows=visible_visits,
    ),
    "outreach:visit_new": Route(page(), roles(LEADER), writes=True),
    # The leader's own team, its members and its commune's hamlets, for the phone to keep.
    "outreach:visit_choices_json": Route(
        page(), roles(LEADER), shows=kinds("TEAM", "LEADER", "MEMBER", "HAMLET")
    ),
    # A shell the phone fills from its own outbox: nothing of anyone's scope.
    "outreach:visit_outbox": Route(page(), roles(LEADER, SUPER)),
    "outreach:household_search": Route(
        probing(page(), *theirs(hamlet=lambda s: s.hamlet.pk, q=lambda s: "PV")),
        VIEWERS,
        shows=kinds("HOUSEHOLD"),
    ),
    "outreach:visit_detail": Route(
        per_side(lambda s: {"pk": s.visit.pk}, lambda s: s.visit.notes), VIEWERS
    ),
    "outreach:visit_edit": Route(
        per_side(lambda s: {"pk": s.visit.pk}, lambda s: s.household.address_label),
        roles(LEADER, SUPER),
        writes=True,
        post=lambda w, t: {
            "visited_on": TODAY.isoformat(),
            "address_label": "PV_TAMPERED_PV",
            "residents_helped": "9",
            "outcome": Visit.Outcome.HELPED,
        },
    ),
    "outreach:visit_delete": Route(
        per_side(lambda s: {"pk": s.visit.pk}, lambda s: s.household.address_label),
        roles(LEADER, SUPER),
        writes=True,
    ),
    "outreach:household_list": Route(
        probing(page(), *PLACE_PROBES, *theirs(hamlet=lambda s: s.hamlet.pk, q=lambda s: "PV")),
        VIEWERS,
        shows=kinds("HOUSEHOLD", "HEAD"),
    ),
    # Without the heads' names: a file leaves the portal's access control.
    "outreach:household_export": Route(
        probing(formats(), *PLACE_PROBES, *theirs(q=lambda s: "PV")),
        VIEWERS,
        shows=kinds("HOUSEHOLD"),
    ),
    # Erasing personal data: for personal data officers (none of the walk's roles but the
    # superuser), within their scope.
    "outreach:household_erase": Route(
        per_side(
            lambda s: {"pk": s.household.pk}, lambda s: s.household.address_label, commune=True
        ),
        roles(SUPER),
        writes=True,
    ),
    "outreach:member_erase": Route(
        per_side(lambda s: {"pk": s.member.pk}, lambda s: s.member.full_name),
        roles(SUPER),
        writes=True,
    ),
    "outreach:household_merge": Route(
        probing(page(), *theirs(hamlet=lambda s: s.hamlet.pk, q=lambda s: "PV")),
        COMMUNE_KEEPERS,
        writes=True,
    ),
    # Member imports and exports.
    "outreach:member_import_new": Route(
        page(), COMMUNE_KEEPERS, writes=True, shows=own("IMPORTFILE")
    ),
    "outreach:member_import_template": Route(page(), COMMUNE_KEEPERS),
    "outreach:member_import_detail": Route(imports("member"), uploader),
    "outreach:member_import_apply": Route(imports("member"), uploader, post_only=True),
    "outreach:member_import_check": Route(imports("member"), uploader, post_only=True),
    "outreach:member_import_logins": Route(imports("member"), uploader, post_only=True),
    "outreach:member_export": Route(formats(), VIEWERS, shows=kinds("MEMBER", "LEADER")),
    "outreach:team_export": Route(formats(), VIEWERS, shows=kinds("TEAM", "LEADER")),
    # Training sessions.
    "trainings:session_list": Route(
        probing(page(), *SESSION_PROBES), VIEWERS, shows=kinds("SESSION")
    ),
    "trainings:session_calendar": Route(page(), VIEWERS, shows=kinds("SESSION")),
    "trainings:session_create": Route(page(), TRAINING_READERS, writes=True),
    "trainings:priority_communes": Route(page(), VIEWERS),
    "trainings:session_export": Route(
        probing(formats(), *SESSION_PROBES), VIEWERS, shows=kinds("SESSION")
    ),
    "trainings:session_detail": Route(
        per_session(lambda s: {"pk": s.session.pk}, held=None), VIEWERS
    ),
    "trainings:session_edit": Route(
        per_session(lambda s: {"pk": s.session.pk}, held=None),
        keeper,
        writes=True,
        post=lambda w, t: {"title": "PV_TAMPERED_PV"},
    ),
    "trainings:session_history": Route(
        per_session(lambda s: {"pk": s.session.pk}, held=None), HISTORY_READERS
    ),
    "trainings:session_sheet": Route(sheets, VIEWERS),
    "trainings:attendance_add": Route(
        per_session(lambda s: {"pk": s.session.pk}),
        keeper,
        post_only=True,
        post=lambda w, t: {"attendance-full_name": "PV_TAMPERED_PV"},
    ),
    "trainings:attendance_remove": Route(attendance_removals, keeper, post_only=True),
    "trainings:attendance_export": Route(attendance_exports, TRAINING_READERS),
    "trainings:headcount_set": Route(
        per_session(lambda s: {"pk": s.session.pk}),
        keeper,
        post_only=True,
        post=lambda w, t: {"headcount-total": "99"},
    ),
    # Online courses.
    "trainings:course_list": Route(
        probing(page(), lambda w: {"q": "PV_LEARNER"}), TRAINING_READERS, shows=kinds("LEARNER")
    ),
    "trainings:course_export": Route(
        probing(formats(), lambda w: {"q": "PV_LEARNER"}),
        TRAINING_READERS,
        shows=kinds("LEARNER"),
    ),
    "trainings:course_import_new": Route(page(), PROVINCIAL, writes=True, shows=own("COURSEFILE")),
    "trainings:course_import_detail": Route(imports("course"), uploader),
    "trainings:course_import_apply": Route(imports("course"), uploader, post_only=True),
    "trainings:course_import_check": Route(imports("course"), uploader, post_only=True),
    # The dashboards: commune officials and team leaders land on their own page.
    "dashboard:overview": Route(
        probing(page(), *DISTRICT_PROBES),
        VIEWERS,
    ),
    # Every commune of the province: for those who see the province's tables.
    "dashboard:communes": Route(probing(page(), *DISTRICT_PROBES), PROVINCIAL),
    "dashboard:district": Route(dashboard_places("district"), dashboard_reader),
    "dashboard:commune": Route(dashboard_places("commune"), dashboard_reader),
    "dashboard:team": Route(dashboard_teams, VIEWERS),
    "dashboard:export": Route(dashboard_exports, dashboard_reader),
    "dashboard:report_district_month": Route(reports, dashboard_reader),
    # The province's targets and indicators.
    "dashboard:target_list": Route(page(), PROVINCIAL),
    "dashboard:target_create": Route(page(), PROVINCIAL, writes=True),
    "dashboard:target_split": Route(page(), PROVINCIAL, writes=True),
    "dashboard:target_edit": Route(
        lambda w: [Target({"pk": w.target.pk})],
        PROVINCIAL,
        writes=True,
        post=lambda w, t: {"year": TODAY.year, "figure": w.target.figure, "value": "5"},
    ),
    "dashboard:target_delete": Route(
        lambda w: [Target({"pk": w.target.pk})], PROVINCIAL, writes=True
    ),
    "dashboard:indicator_list": Route(page(), PROVINCIAL),
    "dashboard:indicator_create": Route(page(), PROVINCIAL, writes=True),
    "dashboard:indicator_edit": Route(
        lambda w: [Target({"year": w.indicator.year})],
        PROVINCIAL,
        writes=True,
        post=lambda w, t: {"dti_rank": "1"},
    ),
}

# Where some roles are sent on instead of the page itself.
LANDING = {
    # A signed-in user does not need the login page.
    **{("login", role): 302 for role in SCOPED | {NOSCOPE}},
    # Commune officials and team leaders land on their own dashboard.
    ("dashboard:overview", OFFICIAL): 302,
    ("dashboard:overview", LEADER): 302,
    # The home page sends a signed-in user where their work is (config/landing.py); a
    # team leader's is the home page itself, and a login without a scope stays there.
    **{("home", role): 302 for role in (PROVINCE, DISTRICT, OFFICIAL, SUPER)},
}


# --- Django admin --------------------------------------------------------------------------

ADMIN = reverse("admin:index")


def _admin_object(model):
    return lambda w: model.objects.order_by("pk").first()


# For each model the admin registers: the object its change, delete and history pages
# open (the other district's, where there is one: the admin is for administrators only)
# and what its list must show the superuser.
ADMIN_OBJECTS: dict[str, tuple[Callable[[World], object], Callable[[World], str] | None]] = {
    "auth.group": (lambda w: Group.objects.order_by("pk").first(), None),
    "axes.accessattempt": (_admin_object(AccessAttempt), None),
    "axes.accesslog": (_admin_object(AccessLog), None),
    "axes.accessfailurelog": (_admin_object(AccessFailureLog), None),
    "communes.province": (lambda w: Province.objects.get(), None),
    "communes.district": (lambda w: w.districts["ND"], None),
    "communes.commune": (lambda w: w.communes["C"], None),
    "communes.hamlet": (lambda w: w.sides["C1"].hamlet, lambda w: w.sides["C1"].hamlet.name),
    "accounts.user": (lambda w: w.sides["C1"].leader, lambda w: w.sides["C1"].leader.username),
    "outreach.service": (_admin_object(Service), None),
    "outreach.team": (lambda w: w.sides["C1"].team, lambda w: w.sides["C1"].team.name),
    "outreach.member": (lambda w: w.sides["C1"].member, lambda w: w.sides["C1"].member.full_name),
    "outreach.household": (
        lambda w: w.sides["C1"].household,
        lambda w: w.sides["C1"].household.address_label,
    ),
    "outreach.visit": (lambda w: w.sides["C1"].visit, lambda w: w.sides["C1"].team.name),
    "outreach.memberimport": (
        lambda w: w.member_imports["C"][0],
        lambda w: w.member_imports["C"][0].file_name,
    ),
    "trainings.topic": (_admin_object(Topic), None),
    "trainings.trainingsession": (
        lambda w: w.sessions["C"].session,
        lambda w: w.sessions["C"].session.title,
    ),
    "trainings.headcount": (lambda w: Headcount.objects.get(), None),
    "trainings.courseenrolment": (
        lambda w: w.enrolments["C"][0],
        lambda w: w.enrolments["C"][0].full_name,
    ),
    "trainings.courseimport": (
        lambda w: w.course_imports["THEIRS"][0],
        lambda w: w.course_imports["THEIRS"][0].file_name,
    ),
    "dashboard.target": (lambda w: w.target, None),
    "dashboard.provincialindicator": (lambda w: w.indicator, None),
}

MODEL_VIEWS = ("changelist", "add", "change", "delete", "history")
# Kept in the portal through the services: the admin shows these and changes nothing.
READ_ONLY_ADMIN = {
    "outreach.team",
    "outreach.member",
    "outreach.household",
    "outreach.visit",
    "outreach.memberimport",
    "trainings.trainingsession",
    "trainings.headcount",
    "trainings.courseenrolment",
    "trainings.courseimport",
    "dashboard.target",
    "dashboard.provincialindicator",
}
# The admin views each model refuses even the superuser (403).
ADMIN_REFUSES = {
    **{label: {"add", "delete"} for label in READ_ONLY_ADMIN},
    # Login attempts are recorded by django-axes, never typed in.
    **{f"axes.{name}": {"add"} for name in ("accessattempt", "accesslog", "accessfailurelog")},
}
# The admin's other pages: the answer each gives the superuser.
ADMIN_ROUTES: dict[str, Callable[[World], list[Target]]] = {
    "admin:index": page(status=200),
    # The login page itself is public; the superuser is sent on to the index.
    "admin:login": page(status=302),
    # Logging out is a POST.
    "admin:logout": page(status=405),
    "admin:password_change": page(status=200),
    "admin:password_change_done": page(status=200),
    "admin:autocomplete": page(
        query={
            "app_label": "accounts",
            "model_name": "user",
            "field_name": "scope_commune",
            "term": "Hải",
        },
        status=200,
    ),
    "admin:jsi18n": page(status=200),
    # No model here has a page on the site to be sent to.
    "admin:view_on_site": lambda w: [
        Target(
            {
                "content_type_id": ContentType.objects.get_for_model(Team).pk,
                "object_id": w.sides["C1"].team.pk,
            },
            status=404,
        )
    ],
    "admin:app_list": lambda w: [
        Target({"app_label": label}, status=200)
        for label in {model._meta.app_label for model in admin.site._registry}
    ],
    "admin:auth_user_password_change": lambda w: [
        Target({"id": w.sides["C1"].leader.pk}, status=200)
    ],
    **{
        f"admin:communes_{model}_{view}": page(status=status)
        for model in ("province", "district", "commune", "hamlet")
        for view, status in (("import", 200), ("export", 200), ("process_import", 405))
    },
}


def admin_model_routes() -> dict[str, Callable[[World], list[Target]]]:
    """The five views of each model the admin registers, from ADMIN_OBJECTS."""
    routes = {}
    for model in admin.site._registry:
        label = model._meta.label_lower
        app, name = label.split(".")
        if label not in ADMIN_OBJECTS:
            # Left for the coverage test to report by name.
            continue
        get, _shown = ADMIN_OBJECTS[label]
        for view in MODEL_VIEWS:
            status = 403 if view in ADMIN_REFUSES.get(label, ()) else 200

            def fill(w, view=view, get=get, status=status):
                kwargs = {"object_id": get(w).pk} if view in ("change", "delete", "history") else {}
                return [Target(kwargs, status=status)]

            routes[f"admin:{app}_{name}_{view}"] = fill
    return routes


# --- Reading the resolver and the responses -----------------------------------------------


def resolver_patterns(patterns=None, prefix="", namespace=""):
    """(full name or None, route string) of every URL the project routes."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            inner = f"{namespace}{ns}:" if ns else namespace
            yield from resolver_patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern)
            name = f"{namespace}{entry.name}" if entry.name else None
            yield name, prefix + str(entry.pattern)


def resolver_names() -> set[str]:
    return {name for name, _route in resolver_patterns() if name}


def body_text(response) -> str:
    """What a response says: the page, the CSV or JSON, or every cell of a workbook."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":
        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    return body.decode("utf-8", errors="replace")


def is_file(response) -> bool:
    return response.has_header("Content-Disposition")


def goes_to_login(response, login_url: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(login_url)


# The tables whose rows a refused POST must leave exactly as they were.
FINGERPRINTED = [
    "accounts.User",
    "auth.Group",
    "communes.Hamlet",
    "outreach.Team",
    "outreach.Member",
    "outreach.Household",
    "outreach.Visit",
    "outreach.MemberImport",
    "trainings.TrainingSession",
    "trainings.Attendance",
    "trainings.Headcount",
    "trainings.CourseEnrolment",
    "trainings.CourseImport",
    "dashboard.Target",
    "dashboard.ProvincialIndicator",
]


def fingerprint() -> list[tuple]:
    """Each table's row count and a digest of all its rows, in one query."""
    parts = []
    for label in FINGERPRINTED:
        table = connection.ops.quote_name(apps.get_model(label)._meta.db_table)
        rows = "md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), ''))"
        parts.append(f"SELECT '{label}', count(*), {rows} FROM {table} t")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return cursor.fetchall()


# --- The walk -------------------------------------------------------------------------------


@dataclass
class Walk:
    world: World
    role: str
    client: object
    problems: list[str] = field(default_factory=list)

    def fail(self, what: str, url: str, why: str) -> None:
        self.problems.append(f"{self.role} {what} {url}: {why}")

    def leaks(self, what: str, url: str, response, text: str | None = None) -> str:
        text = body_text(response) if text is None else text
        for hidden in self.world.hidden_from(self.role):
            if hidden in text:
                self.fail(what, url, f"shows {hidden} (status {response.status_code})")
        return text

    def denied(self, what: str, url: str, response, *, login_url: str, allow=()) -> None:
        status = response.status_code
        if self.role == ANON:
            if not (goes_to_login(response, login_url) or status in allow):
                self.fail(what, url, f"answers {status} to an anonymous visitor, not the login")
        elif status not in DENIED | set(allow):
            self.fail(what, url, f"answers {status}, not 403 or 404")
        if is_file(response):
            self.fail(what, url, "sends a file")

    def portal(self, name: str, route: Route) -> None:
        for target in route.fill(self.world):
            url = target.url(name)
            response = self.client.get(url)
            text = self.leaks(name, url, response)
            status = response.status_code
            if status >= 500:
                self.fail(name, url, f"server error {status}")
                continue
            may = route.allowed(self.role, target) and (
                name in PUBLIC or sees(self.role, target.unit)
            )
            if route.post_only:
                # A GET does nothing; who may not use it may be refused first.
                self.denied(name, url, response, login_url=reverse("login"), allow=(405,))
                if may and status != 405:
                    self.fail(name, url, f"answers a GET with {status}, not 405")
                continue
            if not may:
                self.denied(name, url, response, login_url=reverse("login"))
                continue
            if target.probe:
                # Narrowed to another place's objects: nothing, or a refusal, is right.
                if status not in (200, 302, 403, 404):
                    self.fail(name, url, f"answers {status}")
                continue
            expected = LANDING.get((name, self.role)) or target.status or route.status
            if status != expected:
                self.fail(name, url, f"answers {status}, not {expected}")
                continue
            if status != 200:
                continue
            # A marker of a unit the role does not see is a leak, not something to show
            # (an attendee a page lists only to those at or above the session's level).
            shown_to_role = target.marker and sees(
                self.role, self.world.markers.get(target.marker, target.unit)
            )
            wanted = [target.marker] if shown_to_role else []
            if route.shows:
                wanted += route.shows(self.world, self.role)
            for text_shown in wanted:
                if text_shown not in text:
                    self.fail(name, url, f"does not show {text_shown}, which the role may see")

    def admin(self, name: str, fill: Callable[[World], list[Target]], shown: str | None):
        for target in fill(self.world):
            url = target.url(name)
            response = self.client.get(url)
            text = self.leaks(name, url, response)
            status = response.status_code
            if status >= 500:
                self.fail(name, url, f"server error {status}")
            elif self.role == SUPER:
                if status != target.status:
                    self.fail(name, url, f"answers {status}, not {target.status}")
                elif shown and shown not in text:
                    self.fail(name, url, f"does not show {shown}")
            elif name == "admin:login":
                if status != 200:
                    self.fail(name, url, f"answers {status}, not the login form")
            elif name == "admin:logout":
                # Whoever is not the admin's is sent to its index, and so to its login.
                if not (status == 302 and response["Location"] == ADMIN):
                    self.fail(name, url, f"answers {status}, not the admin's index")
            elif not goes_to_login(response, reverse("admin:login")):
                self.fail(name, url, f"answers {status}, not the admin's login")

    def admin_unnamed(self, route: str) -> None:
        """The admin's unnamed URLs: an object's short address and the catch-all."""
        if route.endswith("<path:object_id>/"):
            path = route.removesuffix("<path:object_id>/")
            url = f"/{path}1/"
            expected = 302
        else:
            assert route.endswith("(?P<url>.*)$"), route
            url = f"{ADMIN}no-such-page/"
            expected = 404
        response = self.client.get(url)
        self.leaks("admin (unnamed)", url, response)
        if self.role == SUPER:
            if response.status_code != expected:
                self.fail("admin (unnamed)", url, f"answers {response.status_code}")
        elif not goes_to_login(response, reverse("admin:login")):
            self.fail("admin (unnamed)", url, f"answers {response.status_code}, not the login")


@pytest.fixture(autouse=True)
def _sessions_in_the_cache(settings):
    # Thousands of requests: the session row is not what is tested, its query is saved.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"


def _client_for(client, world: World, role: str):
    if role != ANON:
        client.force_login(world.users[role])
    return client


def _admin_model_label(name: str) -> str | None:
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix) and name.removeprefix(prefix) in MODEL_VIEWS:
            return model._meta.label_lower
    return None


@pytest.mark.django_db
def test_the_tables_cover_exactly_the_urls_the_project_routes():
    """A URL added without an entry here fails, and so does an entry for a URL gone."""
    names = resolver_names()
    admin_names = {n for n in names if n.startswith("admin:")}
    portal_names = names - admin_names
    assert portal_names - set(ROUTES) == set(), "URLs the walk does not know how to fill"
    assert set(ROUTES) - portal_names == set(), "entries for URLs the project no longer has"
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered - set(ADMIN_OBJECTS) == set(), "admin models without an object to open"
    assert set(ADMIN_OBJECTS) - registered == set(), "entries for models the admin dropped"
    known_admin = set(ADMIN_ROUTES) | set(admin_model_routes())
    assert admin_names - known_admin == set(), "admin URLs the walk does not know how to fill"
    assert known_admin - admin_names == set(), "entries for admin URLs that are gone"
    unnamed = [route for name, route in resolver_patterns() if name is None]
    # Only the admin's: each model's short address, and its catch-all.
    assert all(route.startswith(settings.ADMIN_URL) for route in unnamed), unnamed
    assert len(unnamed) == len(registered) + 1, unnamed


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_url_shows_each_role_its_own_scope_and_nothing_else(client, world, role):
    walk = Walk(world, role, _client_for(client, world, role))
    admin_routes = {**ADMIN_ROUTES, **admin_model_routes()}
    for name, route in resolver_patterns():
        if name is None:
            walk.admin_unnamed(route)
        elif name in ROUTES:
            walk.portal(name, ROUTES[name])
        elif name in admin_routes:
            label = _admin_model_label(name)
            shown = None
            if label and name.endswith("_changelist"):
                get_shown = ADMIN_OBJECTS[label][1]
                shown = get_shown(world) if get_shown else None
            walk.admin(name, admin_routes[name], shown)
        else:
            walk.fail(name, route, "is not in the walk's tables")
    if walk.problems:
        pytest.fail("\n".join(walk.problems), pytrace=False)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_posts_to_objects_a_role_may_not_use_change_nothing(client, world, role):
    walk = Walk(world, role, _client_for(client, world, role))
    for name, route in ROUTES.items():
        if not (route.writes or route.post_only) or name == "logout":
            continue
        refused = [
            target
            for target in route.fill(world)
            if target.kwargs
            and not (role != ANON and route.allowed(role, target) and sees(role, target.unit))
        ]
        # One fingerprint for the route's POSTs: each is refused, so none may change a row.
        before = fingerprint() if refused else None
        for target in refused:
            url = target.url(name)
            data = route.post(world, target) if route.post else {}
            response = client.post(url, data)
            walk.leaks(name, f"POST {url}", response)
            walk.denied(name, f"POST {url}", response, login_url=reverse("login"))
        if refused and fingerprint() != before:
            walk.fail(name, "POST", "a refused POST changed what it may not change")
    # The admin's changes and deletions: only for its administrators.
    if role != SUPER:
        before = fingerprint()
        for name, fill in admin_model_routes().items():
            if not name.endswith(("_change", "_delete")):
                continue
            for target in fill(world):
                url = target.url(name)
                response = client.post(url, {"post": "yes"})
                if not goes_to_login(response, reverse("admin:login")):
                    walk.fail(name, f"POST {url}", f"answers {response.status_code}")
        if fingerprint() != before:
            walk.fail("admin", "POST", "a refused POST changed what it may not change")
    if walk.problems:
        pytest.fail("\n".join(walk.problems), pytrace=False)


# --- Tampered hidden fields ----------------------------------------------------------------


def _visit_form(side: Side, **extra) -> dict:
    return {
        "submission_id": str(uuid.uuid4()),
        "consent": "given",
        "visited_on": TODAY.isoformat(),
        "hamlet": side.hamlet.pk,
        "address_label": "Số 7, ngõ 7",
        "members": [side.member.pk],
        "residents_helped": 1,
        "services": [Service.objects.get(code="portal_account").pk],
        "outcome": Visit.Outcome.HELPED,
        **extra,
    }


def _team_state(team: Team) -> tuple:
    return (
        list(team.visits.order_by("pk").values_list("pk", flat=True)),
        list(team.members.order_by("pk").values_list("pk", "full_name", "is_active")),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("other", ["A2", "C1"])
def test_a_leader_naming_another_team_in_the_visit_form_still_logs_for_their_own(
    client, world, other
):
    ours, theirs = world.sides["A1"], world.sides[other]
    before = _team_state(theirs.team)
    client.force_login(ours.leader)

    response = client.post(reverse("outreach:visit_new"), _visit_form(ours, team=theirs.team.pk))

    assert response.status_code == 302
    visit = Visit.objects.latest("pk")
    assert visit.team == ours.team
    assert response["Location"] == reverse("outreach:visit_detail", args=[visit.pk])
    assert _team_state(theirs.team) == before


def _member_form(member: Member, **extra) -> dict:
    return {
        "full_name": member.full_name,
        "phone": member.phone,
        "role": member.role,
        "affiliation": member.affiliation or Member.Affiliation.OTHER,
        "joined_on": member.joined_on.isoformat(),
        **extra,
    }


@pytest.mark.django_db
def test_an_official_cannot_move_a_member_to_a_team_of_another_commune(client, world):
    ours, theirs = world.sides["A1"], world.sides["C1"]
    before = _team_state(theirs.team)
    client.force_login(world.users[OFFICIAL])

    response = client.post(
        reverse("outreach:member_edit", args=[ours.member.pk]),
        _member_form(ours.member, team=theirs.team.pk),
    )

    assert response.status_code == 200
    assert "team" in response.context["form"].errors
    ours.member.refresh_from_db()
    assert ours.member.team == ours.team
    assert _team_state(theirs.team) == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", [OFFICIAL, LEADER])
def test_a_new_member_joins_the_team_of_the_address_whatever_the_form_says(client, world, role):
    ours, theirs = world.sides["A1"], world.sides["C1"]
    before = _team_state(theirs.team)
    client.force_login(world.users[role])

    response = client.post(
        reverse("outreach:member_create", args=[ours.team.pk]),
        {
            "full_name": "Nguyễn Thị Mới",
            "role": Member.Role.MEMBER,
            "affiliation": Member.Affiliation.OTHER,
            "joined_on": TODAY.isoformat(),
            "team": theirs.team.pk,
        },
    )

    assert response.status_code == 302
    assert Member.objects.get(full_name="Nguyễn Thị Mới").team == ours.team
    assert _team_state(theirs.team) == before


@pytest.mark.django_db
def test_a_leader_naming_another_team_in_the_member_form_keeps_the_member_in_their_own(
    client, world
):
    ours, theirs = world.sides["A1"], world.sides["A2"]
    before = _team_state(theirs.team)
    client.force_login(ours.leader)

    response = client.post(
        reverse("outreach:member_edit", args=[ours.member.pk]),
        _member_form(ours.member, full_name="Tên đã sửa", team=theirs.team.pk),
    )

    assert response.status_code == 302
    ours.member.refresh_from_db()
    assert (ours.member.full_name, ours.member.team) == ("Tên đã sửa", ours.team)
    assert _team_state(theirs.team) == before


@pytest.mark.django_db
def test_an_official_cannot_merge_a_household_of_another_commune(client, world):
    ours, theirs = world.sides["A1"], world.sides["C1"]
    client.force_login(world.users[OFFICIAL])
    before = fingerprint()

    response = client.post(
        reverse("outreach:household_merge"),
        {"keep": ours.household.pk, "remove": theirs.household.pk},
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert fingerprint() == before
