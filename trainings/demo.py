"""Demo training sessions, attendance and online-course records; seed_demo runs this after
the communes, the demo logins and the outreach demo.

Generated, not real, marked as demo, and dated in 2026 up to 15 November whatever day it
runs. A year as ../shared/DOMAIN.md tells it: the 10 thematic conferences for key
officials, the sector conferences, hands-on coaching of the officials of every commune
(named lists), community trainings for residents in many communes (headcounts, more in
communes building advanced or model new-rural status), a few district sessions (those
for the community tech teams name some of the district's team members, so that people
trained are more than the officials trained among them), and about 20,000 officials'
records on the online-course platform, 85% completed.

Everything is drawn in memory first, each commune and district from a random stream of
its own, so the data depends on the seed alone (and on the team members the outreach
demo added) and a commune's data does not change with the scale. Rows are then written
in bulk; the place-days they touch are marked for the roll-up. Sessions are added only
when no demo session exists, course records only when no demo record exists, so a
second run changes nothing.
"""

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from communes.models import Commune, District
from core.marks import ChangeSource, mark_changed

from .models import (
    Attendance,
    Audience,
    CourseEnrolment,
    Headcount,
    Level,
    Topic,
    TrainingSession,
)
from .selectors import members_on
from .services import person_key, place_from_agency, place_index

FIRST_DAY = dt.date(2026, 1, 5)
LAST_DAY = dt.date(2026, 11, 15)
ENROLMENTS = 20_000
COMPLETED_SHARE = 0.85
SECOND_COURSE_SHARE = 0.12
# Learners by where their agency is; with the second courses, about ENROLMENTS records.
LEARNERS_PER_COMMUNE = (29, 51)
LEARNERS_PER_DISTRICT = 357
PROVINCE_LEARNERS = 4_465
CANCELLED_SHARE = 0.03

Format = TrainingSession.Format
Organiser = TrainingSession.Organiser

THEMATIC = [
    # (topic, title); ten conferences over seven themes, three held twice.
    ("smart_cities", "Hội nghị chuyên đề: Xây dựng đô thị thông minh"),
    ("ecommerce_development", "Hội nghị chuyên đề: Phát triển thương mại điện tử"),
    ("dx_enterprises", "Hội nghị chuyên đề: Chuyển đổi số trong doanh nghiệp"),
    ("agriculture", "Hội nghị chuyên đề: Chuyển đổi số trong nông nghiệp, nông thôn"),
    ("health", "Hội nghị chuyên đề: Chuyển đổi số ngành Y tế"),
    ("education", "Hội nghị chuyên đề: Chuyển đổi số trong giáo dục và đào tạo"),
    ("environment", "Hội nghị chuyên đề: Chuyển đổi số ngành Tài nguyên và Môi trường"),
    ("smart_cities", "Hội nghị chuyên đề: Đô thị thông minh (đợt 2)"),
    ("dx_enterprises", "Hội nghị chuyên đề: Doanh nghiệp số (đợt 2)"),
    ("agriculture", "Hội nghị chuyên đề: Nông nghiệp số (đợt 2)"),
]
SECTORS = {
    "justice": "ngành Tư pháp",
    "labour_social": "ngành Lao động - Thương binh và Xã hội",
    "home_affairs": "ngành Nội vụ",
    "culture_tourism": "ngành Văn hóa, Thể thao và Du lịch",
    "transport": "ngành Giao thông vận tải",
    "industry_trade": "ngành Công Thương",
    "construction": "ngành Xây dựng",
    "finance": "ngành Tài chính",
    "science_technology": "ngành Khoa học và Công nghệ",
    "natural_resources": "ngành Tài nguyên và Môi trường",
    "labour_federation": "Liên đoàn Lao động tỉnh",
}
CURRICULUM = [
    "public_service_portal",
    "ecommerce",
    "mobile_banking",
    "digital_address",
    "telemedicine",
    "information_security",
    "scam_recognition",
]
DEPARTMENTS = [
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Tài chính",
    "Sở Kế hoạch và Đầu tư",
    "Sở Thông tin và Truyền thông",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Tài nguyên và Môi trường",
    "Sở Công Thương",
    "Sở Xây dựng",
    "Sở Giao thông vận tải",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ",
    "Văn phòng UBND tỉnh",
    "Bệnh viện Đa khoa tỉnh",
]
DISTRICT_AGENCIES = [
    "UBND {}",
    "Phòng Nội vụ {}",
    "Phòng Tài chính - Kế hoạch {}",
    "Phòng Giáo dục và Đào tạo {}",
    "Phòng Văn hóa và Thông tin {}",
    "Phòng Tài nguyên và Môi trường {}",
    "Trung tâm Y tế {}",
]
COMMUNE_AGENCIES = [
    # (agency, audience); the commune's people's committee most often.
    ("UBND {}", Audience.COMMUNE_OFFICIALS),
    ("UBND {}", Audience.COMMUNE_OFFICIALS),
    ("UBND {}", Audience.COMMUNE_OFFICIALS),
    ("Trạm Y tế {}", Audience.CIVIL_SERVANTS),
    ("Trường Mầm non {}", Audience.CIVIL_SERVANTS),
    ("Trường Tiểu học {}", Audience.CIVIL_SERVANTS),
    ("Trường THCS {}", Audience.CIVIL_SERVANTS),
]
COMMUNE_POSITIONS = [
    "Phó Chủ tịch UBND",
    "Công chức Văn phòng - Thống kê",
    "Công chức Tư pháp - Hộ tịch",
    "Công chức Địa chính - Xây dựng",
    "Công chức Tài chính - Kế toán",
    "Công chức Văn hóa - Xã hội",
    "Chỉ huy trưởng Ban Chỉ huy quân sự",
    "Bí thư Đoàn Thanh niên",
    "Chủ tịch Hội Liên hiệp Phụ nữ",
    "Chủ tịch Hội Nông dân",
    "Chủ tịch Hội Cựu chiến binh",
]
COURSES = [
    "Chuyển đổi số cơ bản cho cán bộ, công chức, viên chức",
    "Kỹ năng số cho cán bộ cấp xã",
    "Chính quyền số và dịch vụ công trực tuyến",
    "An toàn thông tin cơ bản",
    "Khai thác và sử dụng dữ liệu số",
    "Kỹ năng làm việc trên môi trường số",
]
ORGANISERS = [
    (Organiser.DEPARTMENT, "Sở Thông tin và Truyền thông"),
    (Organiser.TELECOM, "VNPT Nam Định"),
    (Organiser.TELECOM, "Viettel Nam Định"),
    (Organiser.BANK, "Agribank Nam Định"),
    (Organiser.BANK, "BIDV Nam Định"),
    (Organiser.OTHER, "Bưu điện tỉnh Nam Định"),
]

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Đinh"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quang", "Ngọc", "Hữu", "Thanh", "Xuân"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hà",
    "Hải",
    "Hạnh",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Sơn",
    "Thảo",
    "Trang",
    "Tuấn",
    "Yến",
]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _unit_in_text(unit: Commune | District) -> str:
    """The unit's name as a sentence writes it: "xã Hải Đông", "thành phố Nam Định"."""
    return unit.name[0].lower() + unit.name[1:]


def _provincial(agency: str) -> str:
    """A provincial agency's full name: "Sở Y tế tỉnh Nam Định", "Văn phòng UBND tỉnh Nam Định"."""
    return f"{agency} tỉnh Nam Định" if agency.startswith("Sở ") else f"{agency} Nam Định"


def _day(rng: random.Random, start: dt.date = FIRST_DAY, end: dt.date = LAST_DAY) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


class _Phones:
    """Unique demo mobile numbers, one series for each kind of person."""

    def __init__(self, prefix: str):
        self.prefix, self.next = prefix, 0

    def take(self) -> str:
        self.next += 1
        return f"{self.prefix}{self.next:06d}"


@dataclass
class _Person:
    full_name: str
    agency: str
    position: str = ""
    phone: str = ""


@dataclass
class _Session:
    session: TrainingSession
    topics: list[str]
    people: list[_Person] = field(default_factory=list)
    # Team members on the list, as outreach's member records (members_on).
    members: list = field(default_factory=list)
    headcount: dict[str, int] | None = None


def _session(rng, *, title, format, audience, level, topics, day=None, **place) -> _Session:
    starts = day or _day(rng)
    organiser, organiser_name = ORGANISERS[0]
    if format == Format.COMMUNITY_TRAINING:
        organiser, organiser_name = rng.choice(ORGANISERS)
    status = TrainingSession.Status.HELD
    if format == Format.COMMUNITY_TRAINING and rng.random() < CANCELLED_SHARE:
        status = TrainingSession.Status.CANCELLED
    session = TrainingSession(
        title=title,
        format=format,
        audience=audience,
        level=level,
        organiser=organiser,
        organiser_name=organiser_name,
        starts_on=starts,
        ends_on=min(LAST_DAY, starts + dt.timedelta(days=rng.choice([0, 0, 0, 1]))),
        capacity=None,
        status=status,
        is_demo=True,
        **place,
    )
    return _Session(session, topics)


def _headcount(rng: random.Random, total: int) -> dict[str, int]:
    return {
        "total": total,
        "women": round(total * rng.uniform(0.45, 0.65)),
        "working_age": round(total * rng.uniform(0.5, 0.8)),
        "priority_groups": round(total * rng.uniform(0.2, 0.5)),
    }


def _coaching(rng, commune: Commune, phones: _Phones) -> _Session:
    """Hands-on coaching of a commune's officials: 5 to 12 of them, by name."""
    planned = _session(
        rng,
        title=f"Cầm tay chỉ việc: kỹ năng số cho cán bộ {_unit_in_text(commune)}",
        format=Format.COACHING,
        audience=Audience.COMMUNE_OFFICIALS,
        level=Level.COMMUNE,
        topics=["public_service_portal", *rng.sample(CURRICULUM[1:], 2)],
        day=_day(rng, dt.date(2026, 2, 16), dt.date(2026, 10, 30)),
        commune=commune,
    )
    agency = f"UBND {_unit_in_text(commune)}"
    positions = ["Chủ tịch UBND", *rng.sample(COMMUNE_POSITIONS, rng.randint(4, 11))]
    names: set[str] = set()
    for position in positions:
        name = _name(rng)
        while name in names:  # a name without a phone must not come twice on a list
            name = _name(rng)
        names.add(name)
        phone = phones.take() if rng.random() < 0.8 else ""
        planned.people.append(_Person(name, agency, position, phone))
    return planned


def _community_trainings(rng, commune: Commune) -> list[_Session]:
    """Resident trainings, counted by head; more in advanced and model new-rural communes."""
    priority = commune.new_rural_status in (
        Commune.NewRuralStatus.ADVANCED,
        Commune.NewRuralStatus.MODEL,
    )
    count = rng.randint(2, 4) if priority else int(rng.random() < 0.6)
    trainings = []
    for _n in range(count):
        planned = _session(
            rng,
            title=f"Tập huấn kỹ năng số cho người dân {_unit_in_text(commune)}",
            format=Format.COMMUNITY_TRAINING,
            audience=Audience.RESIDENTS,
            level=Level.COMMUNE,
            topics=rng.sample(CURRICULUM, rng.randint(2, 3)),
            commune=commune,
        )
        if planned.session.status == TrainingSession.Status.HELD:
            planned.headcount = _headcount(
                rng, rng.randint(60, 160) if priority else rng.randint(35, 100)
            )
        trainings.append(planned)
    return trainings


def _district_sessions(rng, district: District) -> list[_Session]:
    """A district trains its community tech teams and takes its firms online."""
    where = _unit_in_text(district)
    teams = _session(
        rng,
        title=f"Tập huấn nghiệp vụ cho tổ công nghệ số cộng đồng {where}",
        format=Format.COMMUNITY_TRAINING,
        audience=Audience.TEAM_MEMBERS,
        level=Level.DISTRICT,
        topics=["public_service_portal", "digital_address", "information_security"],
        district=district,
    )
    firms = _session(
        rng,
        title=f"Đưa doanh nghiệp, hợp tác xã {where} lên sàn thương mại điện tử",
        format=Format.COMMUNITY_TRAINING,
        audience=rng.choice([Audience.ENTERPRISES, Audience.COOPERATIVES]),
        level=Level.DISTRICT,
        topics=["ecommerce", "mobile_banking"],
        district=district,
    )
    if teams.session.status == TrainingSession.Status.HELD:
        # Some of the members in the district's teams that day, by name: people trained
        # who are no officials, so that officials trained are fewer than people trained.
        members = list(members_on(teams.session.starts_on, district_id=district.pk))
        teams.members = rng.sample(members, min(len(members), rng.randint(20, 40)))
    for planned in (teams, firms):
        if planned.session.status == TrainingSession.Status.HELD:
            planned.headcount = _headcount(rng, rng.randint(80, 200))
    return [teams, firms]


def _province_sessions(rng, key_officials: list[_Person]) -> list[_Session]:
    """The thematic conferences (named key officials and a headcount) and the sectors'."""
    sessions = []
    for n, (topic, title) in enumerate(THEMATIC):
        # About one a month from February, on a weekday-ish spread of days.
        day = dt.date(2026, 2 + n, 1) + dt.timedelta(days=rng.randint(5, 24))
        planned = _session(
            rng,
            title=title,
            format=Format.THEMATIC_CONFERENCE,
            audience=Audience.KEY_OFFICIALS,
            level=Level.PROVINCE,
            topics=[topic],
            day=min(day, LAST_DAY),
        )
        planned.people = rng.sample(key_officials, min(len(key_officials), rng.randint(20, 40)))
        planned.headcount = _headcount(rng, len(planned.people) + rng.randint(80, 200))
        sessions.append(planned)
    for topic, sector in SECTORS.items():
        planned = _session(
            rng,
            title=f"Hội nghị chuyển đổi số {sector}",
            format=Format.SECTOR_CONFERENCE,
            audience=Audience.CIVIL_SERVANTS,
            level=Level.PROVINCE,
            topics=[topic, "information_security"],
        )
        planned.headcount = _headcount(rng, rng.randint(60, 180))
        sessions.append(planned)
    return sessions


def _key_officials(rng, districts: list[District], chairs: list[_Person], phones) -> list:
    """Who the thematic conferences invite: department and district leaders, and the
    chairs of the communes (the same people their coaching lists name)."""
    people = [
        _Person(
            _name(rng),
            _provincial(department),
            rng.choice(["Giám đốc", "Phó Giám đốc"]),
            phones.take(),
        )
        for department in DEPARTMENTS
    ]
    for district in districts:
        agency = f"UBND {_unit_in_text(district)}"
        people += [
            _Person(_name(rng), agency, "Chủ tịch UBND", phones.take()),
            _Person(_name(rng), agency, "Phó Chủ tịch UBND", phones.take()),
        ]
    return people + [chair for chair in chairs if chair.phone]


@dataclass
class _Learner:
    person: _Person
    audience: str
    email: str = ""


def _learners(rng, count: int, agencies: list[tuple[str, str]], phones, emails) -> list:
    learners = []
    for _n in range(count):
        agency, audience = rng.choice(agencies)
        person = _Person(_name(rng), agency)
        email = ""
        draw = rng.random()
        if draw < 0.72:
            person.phone = phones.take()
        elif draw < 0.9:
            email = f"hocvien{next(emails):05d}@namdinh.gov.vn"
        learners.append(_Learner(person, audience, email))
    return learners


def _enrolments(rng, learners: list[_Learner], places) -> list[CourseEnrolment]:
    """Each learner's course (a few take two), with dates, completion and score."""
    enrolments: list[CourseEnrolment] = []
    taken: set[tuple[str, str]] = set()
    place_of: dict[str, tuple] = {}
    for learner in learners:
        person = learner.person
        key = person_key(
            phone=person.phone,
            email=learner.email,
            full_name=person.full_name,
            agency=person.agency,
        )
        courses = rng.sample(COURSES, 2 if rng.random() < SECOND_COURSE_SHARE else 1)
        if person.agency not in place_of:
            place_of[person.agency] = place_from_agency(person.agency, places)
        commune, district = place_of[person.agency]
        for course in courses:
            if (course, key) in taken:
                continue  # a namesake at the same agency without phone or e-mail
            taken.add((course, key))
            enrolled = _day(rng, FIRST_DAY, dt.date(2026, 10, 15))
            completed = score = None
            if rng.random() < COMPLETED_SHARE:
                completed = min(LAST_DAY, enrolled + dt.timedelta(days=rng.randint(5, 45)))
                score = Decimal(rng.randint(120, 200)) / 2  # 60 to 100, by halves
            enrolments.append(
                CourseEnrolment(
                    course=course,
                    full_name=person.full_name,
                    agency=person.agency,
                    email=learner.email,
                    phone=person.phone,
                    person_key=key,
                    audience=learner.audience,
                    commune=commune,
                    district=district,
                    enrolled_on=enrolled,
                    completed_on=completed,
                    score=score,
                    is_demo=True,
                )
            )
    return enrolments


@transaction.atomic
def seed_demo(*, seed: int, scale: float = 1.0) -> list[str]:
    """`scale` below 1 covers only that share of the communes (quick trials and tests)."""
    have_sessions = TrainingSession.objects.filter(is_demo=True).exists()
    have_enrolments = CourseEnrolment.objects.filter(is_demo=True).exists()
    if have_sessions and have_enrolments:
        return ["Demo trainings and course records already present; nothing added."]
    communes = list(Commune.objects.select_related("district").order_by("code"))
    filled = communes[: max(1, round(len(communes) * scale))]
    districts = list(District.objects.order_by("code"))
    per_district = {d.pk: sum(1 for c in communes if c.district_id == d.pk) for d in districts}
    filled_per_district = {d.pk: sum(1 for c in filled if c.district_id == d.pk) for d in districts}
    official_phones, learner_phones, emails = _Phones("0986"), _Phones("0387"), itertools.count(1)

    sessions: list[_Session] = []
    learners: list[_Learner] = []
    chairs: list[_Person] = []
    for commune in filled:
        rng = random.Random(f"trainings:{seed}:commune:{commune.code}")
        coaching = _coaching(rng, commune, official_phones)
        chairs.append(coaching.people[0])
        sessions += [coaching, *_community_trainings(rng, commune)]
        where = _unit_in_text(commune)
        agencies = [(agency.format(where), audience) for agency, audience in COMMUNE_AGENCIES]
        # Some of the officials coached on site also took a course online.
        learners += [
            _Learner(person, Audience.COMMUNE_OFFICIALS)
            for person in coaching.people
            if person.phone and rng.random() < 0.6
        ]
        learners += _learners(
            rng, rng.randint(*LEARNERS_PER_COMMUNE), agencies, learner_phones, emails
        )
    busy_districts = [d for d in districts if filled_per_district[d.pk]]
    for district in busy_districts:
        rng = random.Random(f"trainings:{seed}:district:{district.code}")
        sessions += _district_sessions(rng, district)
        where = _unit_in_text(district)
        agencies = [(agency.format(where), Audience.CIVIL_SERVANTS) for agency in DISTRICT_AGENCIES]
        share = filled_per_district[district.pk] / per_district[district.pk]
        learners_here = round(LEARNERS_PER_DISTRICT * share * rng.uniform(0.85, 1.15))
        learners += _learners(rng, learners_here, agencies, learner_phones, emails)
    rng = random.Random(f"trainings:{seed}:province")
    key_officials = _key_officials(rng, districts, chairs, official_phones)
    sessions += _province_sessions(rng, key_officials)
    agencies = [(_provincial(d), Audience.CIVIL_SERVANTS) for d in DEPARTMENTS]
    learners += _learners(rng, round(PROVINCE_LEARNERS * scale), agencies, learner_phones, emails)
    enrolments = _enrolments(rng, learners, place_index())

    lines = []
    marks: dict[str, set] = {"commune_days": set(), "district_days": set(), "province_days": set()}
    if have_sessions:
        lines.append("Demo training sessions already present; nothing added.")
    else:
        lines.append(_write_sessions(sessions, marks))
    if have_enrolments:
        lines.append("Demo course records already present; nothing added.")
    else:
        CourseEnrolment.objects.bulk_create(enrolments, batch_size=2000)
        for e in enrolments:
            if e.completed_on is None:
                continue
            if e.commune_id:
                marks["commune_days"].add((e.commune_id, e.completed_on))
            elif e.district_id:
                marks["district_days"].add((e.district_id, e.completed_on))
            else:
                marks["province_days"].add(e.completed_on)
        completed = sum(1 for e in enrolments if e.completed_on)
        lines.append(
            f"Demo online courses: {len(enrolments):,} course records, {completed:,} completed."
        )
    mark_changed(source=ChangeSource.TRAININGS, **marks)
    return lines


def _write_sessions(sessions: list[_Session], marks: dict[str, set]) -> str:
    TrainingSession.objects.bulk_create([s.session for s in sessions], batch_size=1000)
    topics = dict(Topic.objects.values_list("code", "pk"))
    TrainingSession.topics.through.objects.bulk_create(
        [
            TrainingSession.topics.through(trainingsession_id=s.session.pk, topic_id=topics[code])
            for s in sessions
            for code in dict.fromkeys(s.topics)
        ],
        batch_size=2000,
    )
    Headcount.objects.bulk_create(
        [Headcount(session=s.session, **s.headcount) for s in sessions if s.headcount],
        batch_size=2000,
    )
    attendances = [
        Attendance(
            session=s.session,
            full_name=person.full_name,
            agency=person.agency,
            position=person.position,
            phone=person.phone,
            person_key=person_key(
                phone=person.phone, full_name=person.full_name, agency=person.agency
            ),
            is_demo=True,
        )
        for s in sessions
        for person in s.people
    ]
    # As attendance_add lists a member: their name and phone, their team as the agency.
    attendances += [
        Attendance(
            session=s.session,
            member=member,
            full_name=member.full_name,
            agency=str(member.team),
            phone=member.phone,
            person_key=person_key(
                phone=member.phone, member_id=member.pk, full_name=member.full_name
            ),
            is_demo=True,
        )
        for s in sessions
        for member in s.members
    ]
    Attendance.objects.bulk_create(attendances, batch_size=2000)
    for s in sessions:
        session = s.session
        if session.level == Level.COMMUNE:
            marks["commune_days"].add((session.commune_id, session.starts_on))
        elif session.level == Level.DISTRICT:
            marks["district_days"].add((session.district_id, session.starts_on))
        else:
            marks["province_days"].add(session.starts_on)
    formats = [s.session.format for s in sessions]
    return (
        f"Demo trainings: {len(sessions):,} sessions "
        f"({formats.count(Format.THEMATIC_CONFERENCE)} thematic conferences, "
        f"{formats.count(Format.SECTOR_CONFERENCE)} sector conferences, "
        f"{formats.count(Format.COACHING)} coaching sessions), "
        f"{len(attendances):,} named attendances."
    )
