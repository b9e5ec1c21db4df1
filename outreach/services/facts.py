"""The write-time facts (outreach/facts.py): kept by the visit services in their
transaction, and checked against the raw rows every night.

The services call `households_locked` first (it locks the households a change touches,
in id order, and reads their visits in the same query), work out what changes with
outreach.facts.HouseholdFacts, save their visit with the ranks it gets, then call
`facts_write` and the member-day functions. `facts_check` recomputes every fact from the
raw rows in the database, counts the differences and, asked to, repairs them.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date

from django.db import connection, transaction
from django.db.models import Case, Value, When

from core.marks import ChangeSource, mark_changed

from ..facts import HouseholdFacts, VisitRow
from ..models import READINESS_FIELDS, Household, MemberDay, ReadinessDay, ReadinessLevel, Visit


def households_locked(
    household_ids: Collection[int],
) -> dict[int, tuple[int, dict[str, bool | None], list[VisitRow]]]:
    """Lock the households (in id order, so that two changes never wait on each other)
    and read, per household: its commune, its current answers and its visits' rows."""
    visit_fields = ("id", "team_id", "commune_id", "visited_on", *READINESS_FIELDS)
    rows = (
        Household.objects.select_for_update(of=("self",))
        .filter(pk__in=list(household_ids))
        .order_by("pk", "visits__id")
        .values_list(
            "pk",
            "commune_id",
            *READINESS_FIELDS,
            *(f"visits__{name}" for name in visit_fields),
            "visits__first_for_household",
            "visits__first_for_team",
        )
    )
    width = len(READINESS_FIELDS)
    found: dict[int, tuple[int, dict, list[VisitRow]]] = {}
    for row in rows:
        pk, commune_id = row[0], row[1]
        if pk not in found:
            answers = dict(zip(READINESS_FIELDS, row[2 : 2 + width], strict=True))
            found[pk] = (commune_id, answers, [])
        visit = row[2 + width :]
        if visit[0] is not None:
            found[pk][2].append(
                VisitRow(
                    id=visit[0],
                    team_id=visit[1],
                    commune_id=visit[2],
                    day=visit[3],
                    answers=tuple(visit[4 : 4 + width]),
                    first_for_household=visit[4 + width],
                    first_for_team=visit[5 + width],
                )
            )
    return found


def visit_row(visit: Visit, pk: int | None = None) -> VisitRow:
    """The row of a visit as it is being written (`pk`: the id to rank it with)."""
    return VisitRow(
        id=pk if pk is not None else visit.pk,
        team_id=visit.team_id,
        commune_id=visit.commune_id,
        day=visit.visited_on,
        answers=tuple(getattr(visit, item) for item in READINESS_FIELDS),
    )


def facts_write(
    changes: Iterable[HouseholdFacts],
    stored_answers: dict[int, dict[str, bool | None]],
    households: Iterable[Household] = (),
) -> None:
    """Store what the changes do beyond the visits the service saves itself: the ranks
    other visits lose or take, the households' current answers (also on the given
    instances) and the communes' readiness changes, in one statement each at most."""
    changes = list(changes)
    instances = {h.pk: h for h in households}
    by_ranks: dict[tuple[bool, bool], list[int]] = defaultdict(list)
    for change in changes:
        for pk, ranks in change.rank_changes.items():
            by_ranks[ranks].append(pk)
    if by_ranks:
        first_household = [
            When(pk__in=ids, then=Value(ranks[0])) for ranks, ids in by_ranks.items()
        ]
        first_team = [When(pk__in=ids, then=Value(ranks[1])) for ranks, ids in by_ranks.items()]
        Visit.objects.filter(pk__in=[pk for ids in by_ranks.values() for pk in ids]).update(
            first_for_household=Case(*first_household),
            first_for_team=Case(*first_team),
        )
    for change in changes:
        stored = stored_answers.get(change.household_id, {})
        changed = {item: a for item, a in change.answers.items() if stored.get(item) != a}
        if changed:
            Household.objects.filter(pk=change.household_id).update(**changed)
        if (instance := instances.get(change.household_id)) is not None:
            for item, answer in change.answers.items():
                setattr(instance, item, answer)
    readiness_add(
        (change.commune_id, day, item, yes, answered)
        for change in changes
        for (day, item), (yes, answered) in change.readiness.items()
    )


def facts_mark(changes: Iterable[HouseholdFacts], *cells: tuple[int, date]) -> None:
    """Mark for the roll-up the cells whose figures the changes moved: `cells` (a
    visit's own, before and after), those of the visits whose ranks changed, and, as
    readiness buckets (recounted only then), the communes whose readiness changed."""
    changes = list(changes)
    mark_changed(
        source=ChangeSource.OUTREACH,
        commune_days=set(cells).union(*(change.cells() for change in changes)),
        also={
            ChangeSource.READINESS: set().union(*(c.readiness_cells() for c in changes)),
        },
    )


READINESS_BATCH = 2000


def readiness_add(rows: Iterable[tuple[int, date, str, int, int]]) -> None:
    """Add the changes (commune, day, item, yes, answered) to the communes' readiness
    days and to their levels, in key order (two writers never wait on each other: both
    lock the days before the levels)."""
    days: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    levels: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for commune_id, day, item, yes, answered in rows:
        for sums in (days[(commune_id, day, item)], levels[(commune_id, item)]):
            sums[0] += yes
            sums[1] += answered
    statements = [
        *_added(ReadinessDay, ("commune_id", "day", "item"), days),
        *_added(ReadinessLevel, ("commune_id", "item"), levels),
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(statements) == 2:
            # A visit's days and levels in one round trip, run in this order.
            cursor.execute(
                ";\n".join(sql for sql, _params in statements),
                [value for _sql, params in statements for value in params],
            )
            return
        for sql, params in statements:
            cursor.execute(sql, params)


def _added(model, keys: tuple[str, ...], sums: dict[tuple, list[int]]) -> list[tuple[str, list]]:
    """Statements that add (yes, answered) to the model's rows by key, creating the
    missing ones: a visit's few rows in one, a bulk writer's in batches that keep under
    SQLite's limit of parameters."""
    values = [(*key, *pair) for key, pair in sorted(sums.items()) if pair != [0, 0]]
    table = model._meta.db_table
    columns = ", ".join((*keys, "yes", "answered"))
    placeholders = "(" + ", ".join(["%s"] * (len(keys) + 2)) + ")"
    statements = []
    for start in range(0, len(values), READINESS_BATCH):
        batch = values[start : start + READINESS_BATCH]
        statements.append(
            (
                f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names from the model
                f"VALUES {', '.join([placeholders] * len(batch))} ON CONFLICT ({', '.join(keys)}) "
                f"DO UPDATE SET yes = {table}.yes + excluded.yes, "
                f"answered = {table}.answered + excluded.answered",
                [value for row in batch for value in row],
            )
        )
    return statements


def member_days_add(commune_id: int, day: date, member_ids: Iterable[int]) -> None:
    """The members went out in the commune on the day (a new visit's: one statement)."""
    MemberDay.objects.bulk_create(
        [MemberDay(member_id=pk, commune_id=commune_id, day=day) for pk in sorted(set(member_ids))],
        ignore_conflicts=True,
    )


def member_days_refresh(member_ids: Collection[int], days: Collection[date]) -> None:
    """The member days of these members on these days again from their visits: after a
    visit with them moved, changed or went."""
    if not member_ids or not days:
        return
    MemberDay.objects.filter(member_id__in=list(member_ids), day__in=list(days)).delete()
    through = Visit.members.through.objects.filter(
        member_id__in=list(member_ids), visit__visited_on__in=list(days)
    )
    MemberDay.objects.bulk_create(
        [
            MemberDay(member_id=member_id, commune_id=commune_id, day=day)
            for member_id, commune_id, day in through.values_list(
                "member_id", "visit__commune_id", "visit__visited_on"
            )
            .order_by("member_id", "visit__visited_on", "visit__commune_id")
            .distinct()
        ],
        ignore_conflicts=True,
    )


# --- The nightly check ---------------------------------------------------------------------


def _ranks_sql() -> str:
    visit = Visit._meta.db_table
    return f"""
        SELECT id,
               ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY visited_on, id) = 1 AS fh,
               ROW_NUMBER() OVER (PARTITION BY household_id, team_id ORDER BY visited_on, id) = 1
                   AS ft
        FROM {visit}
    """  # noqa: S608 - names from the model


def _member_days_sql() -> str:
    visit = Visit._meta.db_table
    through = Visit.members.through._meta.db_table
    return f"""
        SELECT DISTINCT vm.member_id, v.commune_id, v.visited_on AS day
        FROM {through} vm JOIN {visit} v ON v.id = vm.visit_id
    """  # noqa: S608 - names from the model


def _readiness_days_sql() -> tuple[str, list]:
    """The communes' readiness changes by day from every visit: per household and item,
    the answers of the visits that gave one, the last of each day, each compared with
    the household's answer the day before (LAG), added up by commune, day and item.

    One pass over the visits (each visit's answers turned into a row per item), and one
    sort: both windows share the partition and its order."""
    visit = Visit._meta.db_table
    household = Household._meta.db_table
    items = " UNION ALL ".join(["SELECT %s AS item"] * len(READINESS_FIELDS))
    answer = " ".join(f"WHEN %s THEN v.{item}" for item in READINESS_FIELDS)
    sql = f"""
        SELECT commune_id, visited_on AS day, item,
               SUM(yes - COALESCE(previous, 0)) AS yes,
               SUM(CASE WHEN previous IS NULL THEN 1 ELSE 0 END) AS answered
        FROM (
            SELECT commune_id, visited_on, item, yes, LAG(yes) OVER (
                PARTITION BY household_id, item ORDER BY visited_on, id
            ) AS previous
            FROM (
                SELECT a.*, COALESCE(LEAD(visited_on) OVER (
                    PARTITION BY household_id, item ORDER BY visited_on, id
                ) <> visited_on, TRUE) AS last_of_day
                FROM (
                    SELECT v.household_id, h.commune_id, v.visited_on, v.id, i.item,
                           CASE WHEN (CASE i.item {answer} END) THEN 1 ELSE 0 END AS yes
                    FROM {visit} v JOIN {household} h ON h.id = v.household_id
                    CROSS JOIN ({items}) i
                    WHERE (CASE i.item {answer} END) IS NOT NULL
                ) a
            ) d
            WHERE last_of_day
        ) c
        GROUP BY commune_id, visited_on, item
    """  # noqa: S608 - names from the model
    fields = list(READINESS_FIELDS)
    # The answer's CASE twice (the yes and the filter), after the items.
    return sql, [*fields, *fields, *fields]


def _count(cursor, sql: str, params=()) -> int:
    cursor.execute(f"SELECT COUNT(*) FROM ({sql}) x", params)  # noqa: S608
    return cursor.fetchone()[0]


def _bulk_settings(cursor) -> None:
    if connection.vendor == "postgresql":
        # Room for the sorts of every visit (the server's memory, for this transaction).
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")


def _tables() -> dict[str, str]:
    return {
        "visit": Visit._meta.db_table,
        "household": Household._meta.db_table,
        "member_day": MemberDay._meta.db_table,
        "readiness_day": ReadinessDay._meta.db_table,
        "readiness_level": ReadinessLevel._meta.db_table,
        "hamlet": Visit._meta.get_field("hamlet").related_model._meta.db_table,
        "team": Visit._meta.get_field("team").related_model._meta.db_table,
    }


def _misplaced() -> str:
    """Visits whose place disagrees with their team's commune or their hamlet's: a
    visit's commune and hamlet are what its household was when it was written, so what
    can be checked is that they agree with each other and with its team."""
    t = _tables()
    return f"""
        SELECT v.id FROM {t["visit"]} v JOIN {t["team"]} t ON t.id = v.team_id
        JOIN {t["hamlet"]} m ON m.id = v.hamlet_id
        WHERE v.commune_id <> t.commune_id OR m.commune_id <> v.commune_id
    """  # noqa: S608 - names from the models


def _wrong_ranks() -> str:
    visit = Visit._meta.db_table
    return f"""
        SELECT r.id, r.fh, r.ft FROM ({_ranks_sql()}) r JOIN {visit} v ON v.id = r.id
        WHERE v.first_for_household <> r.fh OR v.first_for_team <> r.ft
    """  # noqa: S608


def _member_days_differ() -> tuple[str, str]:
    """(stored member days not in the visits, member days of the visits not stored), as
    set differences (EXCEPT), which both databases answer by sorting or hashing once: a
    NOT EXISTS against a derived table is a nested loop on SQLite."""
    member_days = _member_days_sql()
    stored = f"SELECT member_id, commune_id, day FROM {MemberDay._meta.db_table}"  # noqa: S608
    return (
        f"SELECT * FROM ({stored}) s EXCEPT SELECT * FROM ({member_days}) r",  # noqa: S608
        f"SELECT * FROM ({member_days}) r EXCEPT SELECT * FROM ({stored}) s",  # noqa: S608
    )


NONZERO = "WHERE yes <> 0 OR answered <> 0"


def _levels_sql() -> str:
    """Each commune's levels as the sums of its (checked) readiness days."""
    return (
        f"SELECT commune_id, item, SUM(yes) AS yes, SUM(answered) AS answered "  # noqa: S608
        f"FROM {ReadinessDay._meta.db_table} GROUP BY commune_id, item"
    )


def _levels_differ() -> str:
    """The (commune, item) whose stored level is not the sum of the commune's days."""
    kept = f"SELECT commune_id, item, yes, answered FROM {ReadinessLevel._meta.db_table} {NONZERO}"  # noqa: S608
    summed = f"SELECT * FROM ({_levels_sql()}) s {NONZERO}"  # noqa: S608
    return f"""
        SELECT commune_id, item FROM ({summed} EXCEPT {kept}) a
        UNION
        SELECT commune_id, item FROM ({kept} EXCEPT {summed}) b
    """  # noqa: S608


@transaction.atomic
def facts_check(*, repair: bool = True) -> dict[str, int]:
    """Every write-time fact recomputed from the raw rows and compared with the stored
    one: per kind, how many differ (visits whose place or rank is wrong, member days
    missing or extra, readiness days that differ, readiness levels that are not the sums
    of their days). With `repair`, the stored facts are made the recomputed ones
    (facts_rebuild). Differences are a bug in a writer: the caller logs them.

    Comparing blocks nobody. Repairing (only when something differs) first stops the
    writers of visits and facts until the transaction ends, then recomputes: a visit
    written between the comparison and the repair is counted in as it is. Readers are
    never blocked."""
    t = _tables()
    found = {}
    with connection.cursor() as cursor:
        _bulk_settings(cursor)
        found["visit_places"] = _count(cursor, _misplaced())
        found["visit_ranks"] = _count(cursor, _wrong_ranks())
        extra, missing = _member_days_differ()
        found["member_days"] = _count(cursor, extra) + _count(cursor, missing)
        readiness, params = _readiness_days_sql()
        kept = f"SELECT commune_id, day, item, yes, answered FROM {t['readiness_day']} {NONZERO}"  # noqa: S608
        # Recomputed once; a (commune, day, item) whose figures differ is in both
        # differences, and counted once.
        differ = f"""
            WITH r AS MATERIALIZED (SELECT * FROM ({readiness}) r0 {NONZERO})
            SELECT commune_id, day, item FROM (SELECT * FROM r EXCEPT {kept}) a
            UNION
            SELECT commune_id, day, item FROM ({kept} EXCEPT SELECT * FROM r) b
        """  # noqa: S608
        found["readiness_days"] = _count(cursor, differ, params)
        found["readiness_levels"] = _count(cursor, _levels_differ())
    if repair and any(found.values()):
        if connection.vendor == "postgresql":
            tables = [
                Visit,
                Visit.members.through,
                MemberDay,
                ReadinessDay,
                ReadinessLevel,
                Household,
            ]
            with connection.cursor() as cursor:
                cursor.execute(
                    "LOCK TABLE "  # noqa: S608 - names from the models
                    + ", ".join(model._meta.db_table for model in tables)
                    + " IN SHARE ROW EXCLUSIVE MODE"
                )
        facts_rebuild()
    return found


@transaction.atomic
def facts_rebuild(*, levels: bool = True) -> None:
    """Make every write-time fact the one recomputed from the raw rows, writing only
    what differs (the readiness days and levels, small tables, whole): the check's
    repair, and how bulk writers (the demo data, a migration) get the facts of what
    they wrote. `levels=False`: not the readiness levels (the migration that came
    before their table)."""
    t = _tables()
    with connection.cursor() as cursor:
        _bulk_settings(cursor)
        cursor.execute(
            f"UPDATE {t['visit']} SET commune_id = (SELECT commune_id FROM {t['household']} h "  # noqa: S608
            f"WHERE h.id = household_id), hamlet_id = (SELECT hamlet_id FROM {t['household']} h "
            f"WHERE h.id = household_id) WHERE id IN ({_misplaced()})"
        )
        cursor.execute(
            f"UPDATE {t['visit']} SET first_for_household = w.fh, first_for_team = w.ft "  # noqa: S608
            f"FROM ({_wrong_ranks()}) w WHERE {t['visit']}.id = w.id"
        )
        extra, missing = _member_days_differ()
        cursor.execute(
            f"DELETE FROM {t['member_day']} WHERE (member_id, commune_id, day) IN ({extra})"  # noqa: S608
        )
        cursor.execute(f"INSERT INTO {t['member_day']} (member_id, commune_id, day) {missing}")  # noqa: S608
        readiness, params = _readiness_days_sql()
        cursor.execute(f"DELETE FROM {t['readiness_day']}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {t['readiness_day']} (commune_id, day, item, yes, answered) "  # noqa: S608
            f"SELECT * FROM ({readiness}) r {NONZERO}",
            params,
        )
        if not levels:
            return
        cursor.execute(f"DELETE FROM {t['readiness_level']}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {t['readiness_level']} (commune_id, item, yes, answered) "  # noqa: S608
            f"SELECT * FROM ({_levels_sql()}) l {NONZERO}"
        )
