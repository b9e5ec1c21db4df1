"""Demo teams, members, households and visits; seed_demo runs this after the communes.

Generated, not real, and marked as demo. About 2,160 teams and 16,000 members across the
226 communes (DOMAIN.md), some households in every hamlet and a few months of visits.
Rows are written in bulk for speed (a trial site should start in seconds); the days
they touch are marked for the roll-up like any other change. Only communes without
teams are filled, so a second run changes nothing.
"""

import datetime as dt
import random
import uuid

from django.db import transaction

from accounts.models import ScopeLevel, User
from accounts.services import user_create
from communes.models import Commune, Hamlet
from core.marks import ChangeSource, mark_changed
from core.signals import bulk_written
from core.text import fold

from .facts import VisitRow, readiness_changes, visit_ranks
from .models import (
    READINESS_FIELDS,
    Household,
    Member,
    MemberDay,
    Service,
    Team,
    Visit,
)
from .services.facts import readiness_add

TEAMS = 2_160
MEMBERS = 16_000
ZALO_SHARE = 8_900 / 16_000  # members on the national DX Zalo OA channel
HOUSEHOLDS_PER_HAMLET = (6, 14)
VISITS_PER_TEAM = (4, 14)
# A fixed period keeps the data the same whatever day seed_demo runs.
VISITS_FROM = dt.date(2026, 8, 1)
VISITS_TO = dt.date(2026, 11, 15)
DEMO_LEADER_PASSWORD = "demo-namdinh-2026"

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Vũ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Ngô",
    "Dương",
    "Lương",
]
MIDDLE_F = ["Thị", "Thu", "Ngọc", "Thanh", "Minh", "Phương", "Hồng"]
MIDDLE_M = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Xuân"]
GIVEN_F = ["Anh", "Hà", "Hương", "Lan", "Linh", "Mai", "Nga", "Thảo", "Trang", "Yến", "Hạnh"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Sơn", "Tuấn"]
ALLEYS = ["ngõ 1", "ngõ 2", "ngõ 3", "ngõ 5", "ngách 4", "đường làng", "xóm trong", "xóm ngoài"]


def _name(rng: random.Random, gender: str) -> str:
    middle, given = (MIDDLE_F, GIVEN_F) if gender == Member.Gender.FEMALE else (MIDDLE_M, GIVEN_M)
    return f"{rng.choice(FAMILY)} {rng.choice(middle)} {rng.choice(given)}"


def _split(total: int, weights: list[float], rng: random.Random, low: int) -> list[int]:
    """Integers of at least `low` in proportion to the weights, adding up to `total`."""
    spare = total - low * len(weights)
    shares = [spare * w / sum(weights) for w in weights]
    counts = [low + int(s) for s in shares]
    for i in rng.sample(range(len(counts)), total - sum(counts)):
        counts[i] += 1
    return counts


@transaction.atomic
def seed_demo(*, seed: int, scale: float = 1.0) -> list[str]:
    """`scale` below 1 fills only that share of the communes (quick trials and tests)."""
    rng = random.Random(f"outreach:{seed}")
    communes = list(Commune.objects.order_by("code"))
    filled = {c.pk for c in communes[: max(1, round(len(communes) * scale))]}
    with_teams = set(Team.objects.values_list("commune_id", flat=True).distinct())
    # Draw for every commune, filled or not, so each commune's data depends on the seed only.
    team_counts = _split(TEAMS, [c.households or 1 for c in communes], rng, low=6)
    hamlets_by_commune: dict[int, list[Hamlet]] = {}
    for hamlet in Hamlet.objects.filter(is_active=True).order_by("commune_id", "name_folded"):
        hamlets_by_commune.setdefault(hamlet.commune_id, []).append(hamlet)

    teams = []
    for commune, count in zip(communes, team_counts, strict=True):
        if commune.pk in with_teams or commune.pk not in filled:
            continue
        hamlets = hamlets_by_commune.get(commune.pk, [])
        for n in range(1, count + 1):
            hamlet = hamlets[(n - 1) % len(hamlets)] if hamlets else None
            name = f"Tổ CNS {hamlet.name}" if hamlet and n <= len(hamlets) else f"Tổ CNS số {n}"
            team = Team(
                commune=commune,
                hamlet=hamlet,
                name=name,
                formed_on=dt.date(2023, rng.randint(2, 6), rng.randint(1, 28)),
                is_demo=True,
            )
            team.derive()  # bulk_create does not call save()
            teams.append(team)
    if not teams:
        return ["Demo teams already present; nothing added."]
    Team.objects.bulk_create(teams)

    members = _members(teams, rng)
    # Bulk writes send no post_save: what is cached of teams and members is renewed here.
    for model in (Team, Member):
        bulk_written.send(sender=model)
    households = _households(teams, hamlets_by_commune, rng)
    visits = _visits(teams, members, households, rng)
    leader_line = _demo_leader(teams, members)

    days = {(t.commune_id, t.formed_on) for t in teams}
    days |= {(v.household.commune_id, v.visited_on) for v in visits}
    mark_changed(source=ChangeSource.OUTREACH, commune_days=days)
    return [
        f"Demo outreach: {len(teams):,} teams, {len(members):,} members, "
        f"{len(households):,} households, {len(visits):,} visits.",
        leader_line,
    ]


def _members(teams: list[Team], rng: random.Random) -> list[Member]:
    sizes = _split(MEMBERS * len(teams) // TEAMS, [rng.uniform(0.7, 1.3) for _ in teams], rng, 4)
    members = []
    phone_base = 912_000_000
    for team, size in zip(teams, sizes, strict=True):
        for i in range(size):
            gender = rng.choice([Member.Gender.FEMALE, Member.Gender.MALE])
            role = (
                Member.Role.LEADER
                if i == 0
                else Member.Role.DEPUTY
                if i == 1
                else Member.Role.MEMBER
            )
            on_zalo = rng.random() < ZALO_SHARE
            joined = team.formed_on + dt.timedelta(days=rng.randint(0, 60))
            full_name = _name(rng, gender)
            members.append(
                Member(
                    team=team,
                    full_name=full_name,
                    full_name_folded=fold(full_name),
                    gender=gender,
                    birth_year=rng.randint(1975, 2006),
                    phone=f"0{phone_base + len(members)}",
                    role=role,
                    is_youth_union_member=rng.random() < 0.7,
                    affiliation=rng.choice(Member.Affiliation.values),
                    on_zalo_oa=on_zalo,
                    zalo_joined_on=joined + dt.timedelta(days=rng.randint(0, 200))
                    if on_zalo
                    else None,
                    joined_on=joined,
                    is_demo=True,
                )
            )
    return Member.objects.bulk_create(members, batch_size=2000)


def _households(teams, hamlets_by_commune, rng) -> list[Household]:
    households = []
    for commune_id in sorted({t.commune_id for t in teams}):
        for hamlet in hamlets_by_commune.get(commune_id, []):
            count = rng.randint(*HOUSEHOLDS_PER_HAMLET)
            for n in rng.sample(range(1, 120), count):
                label = f"Số {n}, {rng.choice(ALLEYS)}"
                household = Household(
                    commune_id=commune_id,
                    hamlet=hamlet,
                    address_label=label,
                    head_name=_name(rng, rng.choice(Member.Gender.values[:2])),
                    is_demo=True,
                )
                household.derive()  # bulk_create does not call save()
                households.append(household)
    # Two draws may give the same label in a hamlet; keep the first. _visits saves them
    # once the visits have given each household its checklist.
    unique = {(h.hamlet_id, h.address_key): h for h in reversed(households)}
    return sorted(unique.values(), key=lambda h: (h.hamlet_id, h.address_folded))


def _visits(teams, members, households, rng) -> list[Visit]:
    by_commune: dict[int, list[Household]] = {}
    for household in households:
        by_commune.setdefault(household.commune_id, []).append(household)
    team_members: dict[int, list[Member]] = {}
    for member in members:
        team_members.setdefault(member.team_id, []).append(member)
    services = list(Service.objects.filter(is_active=True).order_by("sort_order"))
    span = (VISITS_TO - VISITS_FROM).days
    visits, member_links, service_links = [], [], []
    for team in teams:
        choices = by_commune.get(team.commune_id)
        if not choices:
            continue
        for _ in range(rng.randint(*VISITS_PER_TEAM)):
            day = VISITS_FROM + dt.timedelta(days=int(span * rng.random() ** 0.7))
            household = rng.choice(choices)
            visit = Visit(
                team=team,
                household=household,
                commune_id=household.commune_id,
                hamlet_id=household.hamlet_id,
                visited_on=day,
                residents_helped=rng.randint(1, 4),
                outcome=rng.choices(Visit.Outcome.values, weights=[70, 20, 7, 3])[0],
                submission_id=uuid.UUID(int=rng.getrandbits(128)),
                is_demo=True,
                **{f: rng.choice([True, True, False, None]) for f in READINESS_FIELDS},
            )
            visits.append(visit)
            member_links.append(
                rng.sample(team_members[team.pk], k=min(2, len(team_members[team.pk])))
            )
            service_links.append(rng.sample(services, k=rng.randint(1, 3)))
    _readiness_from_latest_visits(visits)
    Household.objects.bulk_create(households, batch_size=2000)
    readiness_days = _facts(visits)
    Visit.objects.bulk_create(visits, batch_size=2000)
    Visit.members.through.objects.bulk_create(
        Visit.members.through(visit_id=v.pk, member_id=m.pk)
        for v, ms in zip(visits, member_links, strict=True)
        for m in ms
    )
    Visit.services.through.objects.bulk_create(
        Visit.services.through(visit_id=v.pk, service_id=s.pk)
        for v, ss in zip(visits, service_links, strict=True)
        for s in ss
    )
    MemberDay.objects.bulk_create(
        {
            (m.pk, v.commune_id, v.visited_on): MemberDay(
                member_id=m.pk, commune_id=v.commune_id, day=v.visited_on
            )
            for v, ms in zip(visits, member_links, strict=True)
            for m in ms
        }.values(),
        batch_size=2000,
    )
    # Added to what the communes' days may already hold.
    readiness_add(readiness_days)
    return visits


def _facts(visits: list[Visit]) -> list[tuple]:
    """What the visit services would have recorded as they wrote these visits, worked
    out as they do (outreach/facts.py): each visit's ranks, set on it before it is
    inserted (ids follow the list's order, so a visit's place in it ranks as its id
    will), and the communes' readiness changes (commune, day, item, yes, answered)."""
    by_household: dict[int, list[tuple[int, Visit]]] = {}
    for position, visit in enumerate(visits):
        by_household.setdefault(id(visit.household), []).append((position, visit))
    readiness: dict[tuple, list[int]] = {}
    for pairs in by_household.values():
        rows = [
            VisitRow(
                id=position,
                team_id=visit.team_id,
                commune_id=visit.commune_id,
                day=visit.visited_on,
                answers=tuple(getattr(visit, item) for item in READINESS_FIELDS),
            )
            for position, visit in pairs
        ]
        ranks = visit_ranks(rows)
        for position, visit in pairs:
            visit.first_for_household, visit.first_for_team = ranks[position]
        changes, _answers = readiness_changes(rows)
        commune_id = pairs[0][1].household.commune_id
        for (day, item), (yes, answered) in changes.items():
            sums = readiness.setdefault((commune_id, day, item), [0, 0])
            sums[0] += yes
            sums[1] += answered
    return [(*key, yes, answered) for key, (yes, answered) in readiness.items()]


def _readiness_from_latest_visits(visits: list[Visit]) -> None:
    """Each household's checklist from its visits, as the visit services keep it:
    per item, the answer of the latest visit that gave one."""
    order = {id(v): i for i, v in enumerate(visits)}
    for visit in sorted(visits, key=lambda v: (v.visited_on, order[id(v)])):
        for field in READINESS_FIELDS:
            if getattr(visit, field) is not None:
                setattr(visit.household, field, getattr(visit, field))


def _demo_leader(teams: list[Team], members: list[Member]) -> str:
    """A login for the leader of the first demo team of the demo commune official's commune."""
    official = User.objects.filter(is_demo=True, scope_level=ScopeLevel.COMMUNE).first()
    commune_id = official.scope_commune_id if official else teams[0].commune_id
    team = next((t for t in teams if t.commune_id == commune_id), teams[0])
    leader = next(m for m in members if m.team_id == team.pk and m.role == Member.Role.LEADER)
    if not User.objects.filter(username=leader.phone).exists():
        user = user_create(
            username=leader.phone,
            password=DEMO_LEADER_PASSWORD,
            full_name=leader.full_name,
            scope_level=ScopeLevel.TEAM,
            is_demo=True,
        )
        Member.objects.filter(pk=leader.pk).update(user=user)
        bulk_written.send(sender=Member)
    return f"{leader.phone} / {DEMO_LEADER_PASSWORD}  (Team leader: {team.name}, {team.commune})"
