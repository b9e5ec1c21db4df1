"""Demo teams, members, households and visits; seed_demo runs this after the communes and
the demo logins.

Generated, not real, and marked as demo: a campaign that has lived since spring 2023.
About 2,160 teams and 16,000 members are active today across the 226 communes
(DOMAIN.md); most teams formed in 2023's spring and some since, members joined with their
team or later, and some left over the years; a few teams were dissolved, their members
leaving that day as team_dissolve records it. Every team's leader has a login, named by
their phone as member_login_create names it (only the demo leader's password is known:
an official gives the others one). Households, most with a phone, in every hamlet; the
visits of the last months, each entered by its team's leader on the evening of its day
or up to two days later, so that the newest can still be changed and the older ones no
longer (the seven days of outreach.services.visits.EDIT_WINDOW).

Dates follow the day seed_demo runs, and nothing lies in the future; for a seed and a
day the data is always the same. Rows are written in bulk for speed (a trial site should
start in seconds), with the facts the visit services would have recorded; the days they
touch are marked for the roll-up like any other change. Only communes without teams are
filled, so a second run changes nothing.
"""

import datetime as dt
import itertools
import random
import uuid
from collections import Counter

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import ScopeLevel, User
from accounts.services import users_create_many
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
from .services.visits import OUTCOME_RULES

TEAMS = 2_160
MEMBERS = 16_000
ZALO_SHARE = 8_900 / 16_000  # members on the national DX Zalo OA channel
# Teams formed after the campaign's first spring; teams dissolved since, on top of the
# TEAMS active today (at full scale).
LATE_TEAM_SHARE = 0.08
DISSOLVED_TEAMS = 36
# Members who joined their team after its first two months; members who left, per team.
LATE_MEMBER_SHARE = 0.25
LEFT_PER_TEAM = (0, 0, 1, 1, 1, 2, 3)
HOUSEHOLDS_PER_HAMLET = (6, 14)
HOUSEHOLD_PHONE_SHARE = 0.6
VISITS_PER_TEAM = (4, 14)
# Visits of the last VISIT_DAYS days, more of them in the recent weeks, each entered on
# the evening of its day or one or two days later (weights of 0, 1 and 2 days).
VISIT_DAYS = 120
ENTRY_DELAY_WEIGHTS = (6, 3, 1)
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

DAY = dt.timedelta(days=1)


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


def _between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    """A day from `first` to `last`, both included (`first` when `last` is earlier)."""
    return first + DAY * rng.randint(0, max(0, (last - first).days))


def _spring_2023(rng: random.Random) -> dt.date:
    return dt.date(2023, rng.randint(2, 6), rng.randint(1, 28))


@transaction.atomic
def seed_demo(*, seed: int, scale: float = 1.0) -> list[str]:
    """`scale` below 1 fills only that share of the communes (quick trials and tests)."""
    rng = random.Random(f"outreach:{seed}")
    now = timezone.now()
    today = timezone.localdate(now)
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
            teams.append(_team(commune, hamlets, n, _formed_on(rng, today)))
    if not teams:
        return ["Demo teams already present; nothing added."]
    teams += _dissolved_teams(teams, hamlets_by_commune, rng, today)
    Team.objects.bulk_create(teams)

    members = _members(teams, rng, today)
    demo_team = _demo_team(teams)
    _leader_logins(members, demo_team)
    Member.objects.bulk_create(members, batch_size=2000)
    # Bulk writes send no post_save: what is cached of teams and members is renewed here.
    for model in (Team, Member):
        bulk_written.send(sender=model)
    households = _households(teams, hamlets_by_commune, rng)
    visits, households = _visits(teams, members, households, rng, now=now, demo_team=demo_team)

    days = {(t.commune_id, d) for t in teams for d in (t.formed_on, t.dissolved_on) if d}
    days |= {
        (m.team.commune_id, d)
        for m in members
        for d in (m.joined_on, m.left_on, m.zalo_joined_on)
        if d
    }
    days |= {(v.commune_id, v.visited_on) for v in visits}
    # The roster's figures as well as the visits'.
    mark_changed(source=ChangeSource.ROSTER, commune_days=days)
    active_teams = sum(1 for t in teams if t.is_active)
    active_members = sum(1 for m in members if m.is_active)
    leader = next(m for m in members if m.team is demo_team and m.role == Member.Role.LEADER)
    return [
        f"Demo outreach: {active_teams:,} teams and {active_members:,} members today "
        f"({len(teams) - active_teams} teams dissolved and {len(members) - active_members:,} "
        f"members left since 2023), {len(households):,} households, {len(visits):,} visits "
        "entered by their teams' leaders.",
        f"{leader.phone} / {DEMO_LEADER_PASSWORD}  "
        f"(Team leader: {demo_team.name}, {demo_team.commune})",
    ]


def _team(commune: Commune, hamlets: list[Hamlet], n: int, formed_on: dt.date) -> Team:
    """The commune's n-th team, named after its hamlet while there are hamlets to go round."""
    hamlet = hamlets[(n - 1) % len(hamlets)] if hamlets else None
    name = f"Tổ CNS {hamlet.name}" if hamlet and n <= len(hamlets) else f"Tổ CNS số {n}"
    team = Team(commune=commune, hamlet=hamlet, name=name, formed_on=formed_on, is_demo=True)
    team.derive()  # bulk_create does not call save()
    return team


def _formed_on(rng: random.Random, today: dt.date) -> dt.date:
    """Most teams formed in the campaign's first spring; some since, the latest three
    months ago."""
    if rng.random() < LATE_TEAM_SHARE:
        return _between(rng, dt.date(2023, 7, 1), today - 90 * DAY)
    return _spring_2023(rng)


def _dissolved_teams(
    teams: list[Team], hamlets_by_commune: dict[int, list[Hamlet]], rng, today: dt.date
) -> list[Team]:
    """A few more teams, formed in 2023's spring and dissolved since (at least one)."""
    per_commune = Counter(t.commune_id for t in teams)
    communes = {t.commune_id: t.commune for t in teams}
    count = max(1, round(DISSOLVED_TEAMS * len(teams) / TEAMS))
    dissolved = []
    for commune_id in rng.choices(sorted(per_commune), k=count):
        per_commune[commune_id] += 1
        hamlets = hamlets_by_commune.get(commune_id, [])
        team = _team(communes[commune_id], hamlets, per_commune[commune_id], _spring_2023(rng))
        # Some of them in the last months, so that their last visits are in the demo too.
        recently = rng.random() < 0.25
        since = today - (VISIT_DAYS - 30) * DAY if recently else team.formed_on + 180 * DAY
        team.dissolved_on = _between(rng, since, today - 21 * DAY)
        dissolved.append(team)
    return dissolved


def _members(teams: list[Team], rng: random.Random, today: dt.date) -> list[Member]:
    """MEMBERS active today (at full scale), and those who left.

    A team's leader joined the day it formed and leads it still (or until it was
    dissolved); the others joined in its first two months or later. A dissolved team's
    members all left by its last day: most on that day, as team_dissolve records it.
    """
    lasting = [t for t in teams if t.is_active]
    weights = [rng.uniform(0.7, 1.3) for _ in lasting]
    sizes = iter(_split(MEMBERS * len(lasting) // TEAMS, weights, rng, 4))
    phones = itertools.count(912_000_000)
    members = []
    for team in teams:
        last_day = team.dissolved_on or today
        if team.is_active:
            staying, leaving = next(sizes), rng.choice(LEFT_PER_TEAM)
        else:
            staying, leaving = 0, rng.randint(4, 8)
        for i in range(staying + leaving):
            stays = i < staying
            if team.is_active and not stays:
                # A leaver of a team that lasts: never its leader, sometimes a deputy.
                role = Member.Role.DEPUTY if rng.random() < 0.15 else Member.Role.MEMBER
            else:
                role = (Member.Role.LEADER, Member.Role.DEPUTY)[i] if i < 2 else Member.Role.MEMBER
            joined = team.formed_on if role == Member.Role.LEADER else _joined(rng, team, last_day)
            left = None if stays else _left(rng, team, role, joined, last_day)
            members.append(_member(rng, team, role, joined, left, f"0{next(phones)}", today))
    return members


def _joined(rng: random.Random, team: Team, last_day: dt.date) -> dt.date:
    if rng.random() < LATE_MEMBER_SHARE and (last_day - team.formed_on).days > 90:
        return _between(rng, team.formed_on + 61 * DAY, last_day - DAY)
    return min(team.formed_on + DAY * rng.randint(0, 60), last_day)


def _left(rng: random.Random, team: Team, role: str, joined: dt.date, last_day: dt.date):
    """A leaver's last day: any day a month or more after joining; a dissolved team's
    members mostly its last day, its leader always."""
    if role == Member.Role.LEADER or (not team.is_active and rng.random() >= 0.2):
        return last_day
    return min(_between(rng, joined + 30 * DAY, last_day - DAY), last_day)


def _member(rng, team: Team, role: str, joined: dt.date, left, phone: str, today) -> Member:
    gender = rng.choice([Member.Gender.FEMALE, Member.Gender.MALE])
    full_name = _name(rng, gender)
    zalo_on = None
    if rng.random() < ZALO_SHARE:
        # On the Zalo OA while in the team: the figures count a member who leaves as
        # leaving it too.
        zalo_on = min(joined + DAY * rng.randint(0, 200), left or today)
    return Member(
        team=team,
        full_name=full_name,
        full_name_folded=fold(full_name),
        gender=gender,
        birth_year=rng.randint(1975, 2006),
        phone=phone,
        role=role,
        is_youth_union_member=rng.random() < 0.7,
        affiliation=rng.choice(Member.Affiliation.values),
        on_zalo_oa=zalo_on is not None,
        zalo_joined_on=zalo_on,
        joined_on=joined,
        left_on=left,
        is_active=left is None,
        is_demo=True,
    )


def _demo_team(teams: list[Team]) -> Team:
    """The first team of the demo commune official's commune (any first team when that
    commune is not filled), whose leader's login seed_demo prints."""
    official = User.objects.filter(is_demo=True, scope_level=ScopeLevel.COMMUNE).first()
    commune_id = official.scope_commune_id if official else None
    lasting = [t for t in teams if t.is_active]
    return next((t for t in lasting if t.commune_id == commune_id), lasting[0])


def _leader_logins(members: list[Member], demo_team: Team) -> None:
    """Every leader's login, named by their phone as member_login_create names it and
    linked to them before they are saved; a dissolved team's is inactive, as
    team_dissolve leaves it. Only the demo team's leader's password is known: the
    others are unusable until an official hands one over. An earlier run's logins are
    linked again."""
    earlier = {
        user.username: user
        for user in User.objects.filter(is_demo=True, scope_level=ScopeLevel.TEAM)
    }
    new = []
    for leader in members:
        if leader.role != Member.Role.LEADER:
            continue
        user = earlier.get(leader.phone)
        if user is None:
            user = User(
                username=leader.phone,
                full_name=leader.full_name,
                scope_level=ScopeLevel.TEAM,
                is_active=leader.is_active,
                is_demo=True,
            )
            if leader.team is demo_team:
                user.set_password(DEMO_LEADER_PASSWORD)
            else:
                user.set_unusable_password()
            new.append(user)
        leader.user = user
    users_create_many(users=new)


def _households(teams, hamlets_by_commune, rng) -> list[Household]:
    households = []
    phones = itertools.count(356_000_000)
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
                    phone=f"0{next(phones)}" if rng.random() < HOUSEHOLD_PHONE_SHARE else "",
                    is_demo=True,
                )
                household.derive()  # bulk_create does not call save()
                households.append(household)
    # Two draws may give the same label in a hamlet; keep the first. _visits saves the
    # households its visits recorded, once they have given each its checklist.
    unique = {(h.hamlet_id, h.address_key): h for h in reversed(households)}
    return sorted(unique.values(), key=lambda h: (h.hamlet_id, h.address_folded))


def _visits(
    teams: list[Team],
    members: list[Member],
    households: list[Household],
    rng: random.Random,
    *,
    now: dt.datetime,
    demo_team: Team,
) -> tuple[list[Visit], list[Household]]:
    """The visits of the last VISIT_DAYS days, saved with the households they recorded
    (returned with them): by members in their team that day, entered by its leader."""
    by_commune: dict[int, list[Household]] = {}
    for household in households:
        by_commune.setdefault(household.commune_id, []).append(household)
    team_members: dict[int, list[Member]] = {}
    for member in members:
        team_members.setdefault(member.team_id, []).append(member)
    leaders = {m.team_id: m.user for m in members if m.role == Member.Role.LEADER}
    services = list(Service.objects.filter(is_active=True).order_by("sort_order"))
    today = timezone.localdate(now)
    visits, member_links, service_links = [], [], []
    for team in teams:
        choices = by_commune.get(team.commune_id)
        # A dissolved team's last visits were entered while its leader's login worked.
        last = team.dissolved_on - 3 * DAY if team.dissolved_on else today
        first = max(today - VISIT_DAYS * DAY, team.formed_on)
        if not choices or last < first:
            continue
        span = (last - first).days
        for n in range(rng.randint(*VISITS_PER_TEAM)):
            day = first + DAY * int((span + 1) * rng.random() ** 0.7)
            if team is demo_team and n < 2:
                # The demo leader finds a visit they may still change and one they may not.
                day = max(first, today - DAY * (1, 20)[n])
            household = rng.choice(choices)
            entered = _entered_at(rng, day, now)
            visit = Visit(
                team=team,
                household=household,
                commune_id=household.commune_id,
                hamlet_id=household.hamlet_id,
                visited_on=day,
                residents_helped=rng.randint(1, 4),
                outcome=rng.choices(Visit.Outcome.values, weights=[70, 20, 7, 3])[0],
                submission_id=uuid.UUID(int=rng.getrandbits(128)),
                created_at=entered,
                updated_at=entered,
                created_by=leaders[team.pk],
                is_demo=True,
                **{f: rng.choice([True, True, False, None]) for f in READINESS_FIELDS},
            )
            visits.append(visit)
            out = [
                m
                for m in team_members[team.pk]
                if m.joined_on <= day and (m.left_on is None or m.left_on > day)
            ]
            member_links.append(rng.sample(out, k=min(2, len(out))))
            drawn = rng.sample(services, k=rng.randint(1, 3))
            # Drawn as before, then made to say only what the outcome allows.
            rule = OUTCOME_RULES[visit.outcome]
            if rule.helped is False:
                visit.residents_helped, drawn = 0, []
            if not rule.answered:
                for item in READINESS_FIELDS:
                    setattr(visit, item, None)
            service_links.append(drawn)
    households = _recorded(households, visits)
    _readiness_from_latest_visits(visits)
    # The inserts stamp the time of this run where the entry times belong (auto_now_add):
    # they are put back afterwards.
    entry_times = {id(row): row.created_at for row in [*visits, *households]}
    Household.objects.bulk_create(households, batch_size=2000)
    readiness_days = _facts(visits)
    Visit.objects.bulk_create(visits, batch_size=2000)
    links = list(zip(visits, member_links, strict=True))
    _insert(
        Visit.members.through, ("visit", "member"), [(v.pk, m.pk) for v, ms in links for m in ms]
    )
    _insert(
        Visit.services.through,
        ("visit", "service"),
        [(v.pk, s.pk) for v, ss in zip(visits, service_links, strict=True) for s in ss],
    )
    _insert(
        MemberDay,
        ("member", "commune", "day"),
        list(dict.fromkeys((m.pk, v.commune_id, v.visited_on) for v, ms in links for m in ms)),
    )
    # Added to what the communes' days may already hold.
    readiness_add(readiness_days)
    for row in [*visits, *households]:
        row.created_at = entry_times[id(row)]
    _backdate(Visit, ("created_at", "updated_at"), [(v.pk, v.created_at) for v in visits])
    _backdate(Household, ("created_at",), [(h.pk, h.created_at) for h in households])
    for visit in visits:
        visit.updated_at = visit.created_at
    return visits, households


def _entered_at(rng: random.Random, day: dt.date, now: dt.datetime) -> dt.datetime:
    """When a leader entered a visit: an evening, of its day or one or two days later,
    where the campaign is (TIME_ZONE); for an evening still to come, a moment ago, but
    never before the day began."""
    delay = rng.choices(range(len(ENTRY_DELAY_WEIGHTS)), weights=ENTRY_DELAY_WEIGHTS)[0]
    evening = dt.time(rng.randint(17, 21), rng.randint(0, 59))
    zone = timezone.get_default_timezone()
    at = dt.datetime.combine(day + delay * DAY, evening, tzinfo=zone)
    a_moment_ago = now - dt.timedelta(minutes=rng.randint(1, 90))
    return max(min(at, a_moment_ago), dt.datetime.combine(day, dt.time(), tzinfo=zone))


def _recorded(households: list[Household], visits: list[Visit]) -> list[Household]:
    """The households the visits recorded, each as the visit entered first recorded it:
    by the team's leader, then, with the household's consent to the notice of the day."""
    first: dict[int, Visit] = {}
    for visit in visits:
        seen = first.get(id(visit.household))
        if seen is None or visit.created_at < seen.created_at:
            first[id(visit.household)] = visit
    recorded = [h for h in households if id(h) in first]
    for household in recorded:
        visit = first[id(household)]
        household.created_at = household.consent_recorded_at = visit.created_at
        household.created_by = household.consent_recorded_by = visit.created_by
        household.consent = Household.Consent.GIVEN
        household.consent_notice = settings.CONSENT_NOTICE_VERSION
    return recorded


# Rows of link and fact tables, and their times, go in with statements of many rows:
# bulk_create would build a model instance for each, which was most of seed_demo's time.


def _statements(model: type[models.Model], fields: tuple[str, ...], rows: list[tuple]):
    """(columns, placeholders of a chunk's rows, their parameters), as many rows to a
    statement as the database takes parameters (SQLite: 999)."""
    quote = connection.ops.quote_name
    model_fields = [model._meta.get_field(name) for name in fields]
    columns = [quote(field.column) for field in model_fields]
    # Dates and times as the database takes them (text on SQLite); keys and numbers as
    # they are.
    dated = [i for i, field in enumerate(model_fields) if isinstance(field, models.DateField)]
    size = min(2000, (connection.features.max_query_params or 65535) // len(fields))
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, len(rows), size):
        chunk = [list(row) for row in rows[start : start + size]]
        for row in chunk:
            for i in dated:
                row[i] = model_fields[i].get_db_prep_save(row[i], connection)
        params = [value for row in chunk for value in row]
        yield columns, ", ".join([row_marks] * len(chunk)), params


def _insert(model: type[models.Model], fields: tuple[str, ...], rows: list[tuple]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        for columns, values, params in _statements(model, fields, rows):
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608 - names from the model
            cursor.execute(sql, params)


def _backdate(model: type[models.Model], fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Give saved rows their own times in fields that auto_now(_add) filled with the
    time of the insert: (id, time) rows. PostgreSQL and SQLite both update from a VALUES
    list, whose columns both name column1 and column2."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    assignments = ", ".join(f"{quote(model._meta.get_field(f).column)} = v.column2" for f in fields)
    with connection.cursor() as cursor:
        for (pk, _time), values, params in _statements(model, ("id", fields[0]), rows):
            sql = (
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v "  # noqa: S608 - names from the model
                f"WHERE {table}.{pk} = v.column1"
            )
            cursor.execute(sql, params)


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
