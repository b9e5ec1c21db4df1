"""The training figures of the summary tables, read from trainings' raw rows (see
dashboard/aggregates/outreach.py: the dashboard owns every aggregation)."""

from collections.abc import Collection
from datetime import date

from django.db.models import Case, Count, F, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from communes.models import Commune
from trainings.models import (
    OFFICIAL_AUDIENCES,
    Attendance,
    CourseEnrolment,
    Level,
    TrainingSession,
)
from trainings.selectors import with_attendees

from ..models import TrainingDay
from . import in_cells

# As for outreach: grouped querysets (or SQL and its parameters) whose columns carry
# the summary table's column names, for the dashboard to insert in the database.

TRAINING_DAY_FIGURES = TrainingDay.FIGURE_FIELDS


def _in_places(queryset: QuerySet, *, level: str | None, places, day: str, **cells):
    """Narrow to the level's places and days (None: all)."""
    if level == Level.COMMUNE:
        queryset = queryset.filter(commune__isnull=False)
    elif level == Level.DISTRICT:
        queryset = queryset.filter(commune__isnull=True, district__isnull=False)
    elif level == Level.PROVINCE:
        queryset = queryset.filter(commune__isnull=True, district__isnull=True)
    place = {Level.COMMUNE: "commune_id", Level.DISTRICT: "district_id"}.get(level)
    return in_cells(queryset, place=place, day=day, places=places, **cells)


def _by_cell(queryset: QuerySet, level: str | None, day: str, **figures) -> QuerySet:
    """Rows grouped by (level, district, commune, day, audience), with zeros in the
    figures the source has none of."""
    if level is None:
        # The place says the level: a commune, else a district, else the province.
        level_of = Case(
            When(commune__isnull=False, then=Value(Level.COMMUNE.value)),
            When(district__isnull=False, then=Value(Level.DISTRICT.value)),
            default=Value(Level.PROVINCE.value),
        )
    else:
        level_of = Value(str(level))
    zeros = {name: Value(0) for name in TRAINING_DAY_FIGURES if name not in figures}
    keys = ("level", "district_id", "commune_id", "day", "audience")
    return (
        queryset.values("commune_id", "audience")
        # Annotated after values(): grouped by, and free to take a field's name
        # (district_id), as the summary's columns are named.
        .annotate(
            level=level_of,
            # A commune's rows carry its district, for district sums.
            district_id=Coalesce("district_id", "commune__district_id"),
            day=F(day),
        )
        .annotate(**figures, **zeros)
        .values_list(*keys, *TRAINING_DAY_FIGURES)
    )


def training_day_figures(
    level: str | None,
    *,
    places: Collection[int] | None = None,
    days: Collection[date] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[QuerySet]:
    """Per (level, district, commune, day, audience), to add up by key: level,
    district_id, commune_id, day, audience, sessions_held, attendees, course_completions.

    Sessions held and their attendees count on their start day, course completions where
    the learner's agency is; `level` None gives every level at once.
    """
    cells = {"level": level, "places": places, "days": days, "start": start, "end": end}
    held = _in_places(
        TrainingSession.objects.filter(status=TrainingSession.Status.HELD),
        day="starts_on",
        **cells,
    )
    completed = _in_places(
        CourseEnrolment.objects.filter(completed_on__isnull=False), day="completed_on", **cells
    )
    return [
        _by_cell(
            with_attendees(held),
            level,
            "starts_on",
            sessions_held=Count("pk"),
            attendees=Sum("attendee_count"),
        ),
        _by_cell(completed, level, "completed_on", course_completions=Count("pk")),
    ]


def people_trained_figures(year: int) -> tuple[str, list]:
    """SQL and parameters for the rows (year, district_id, commune_id, people_trained,
    officials_trained): distinct people and distinct officials trained in a year, one row
    per commune (district None), one per district (its own sessions and records, and its
    communes'), and the province (both None), each where someone was trained. One person
    at three sessions and a course counts once, as in training_figures().
    """
    session = TrainingSession._meta.db_table
    attendance = Attendance._meta.db_table
    enrolment = CourseEnrolment._meta.db_table
    commune = Commune._meta.db_table
    officials = ", ".join(["%s"] * len(OFFICIAL_AUDIENCES))
    start, end = date(year, 1, 1), date(year, 12, 31)
    # Distinct counts do not add up over places, so each level is counted on its own.
    sql = f"""
        WITH people AS (
            SELECT s.commune_id AS commune_id,
                   COALESCE(s.district_id, c.district_id) AS district_id,
                   a.person_key AS person_key, s.audience AS audience
            FROM {attendance} a
            JOIN {session} s ON s.id = a.session_id
            LEFT JOIN {commune} c ON c.id = s.commune_id
            WHERE s.status = %s AND s.starts_on BETWEEN %s AND %s
            UNION ALL
            SELECT e.commune_id, COALESCE(e.district_id, c.district_id), e.person_key, e.audience
            FROM {enrolment} e
            LEFT JOIN {commune} c ON c.id = e.commune_id
            WHERE e.completed_on BETWEEN %s AND %s
        )
        SELECT %s AS year, district_id, commune_id, people_trained, officials_trained
        FROM (
            SELECT NULL AS district_id, commune_id,
                   COUNT(DISTINCT person_key) AS people_trained,
                   COUNT(DISTINCT CASE WHEN audience IN ({officials}) THEN person_key END)
                       AS officials_trained
            FROM people WHERE commune_id IS NOT NULL GROUP BY commune_id
            UNION ALL
            SELECT district_id, NULL, COUNT(DISTINCT person_key),
                   COUNT(DISTINCT CASE WHEN audience IN ({officials}) THEN person_key END)
            FROM people WHERE district_id IS NOT NULL GROUP BY district_id
            UNION ALL
            SELECT NULL, NULL, COUNT(DISTINCT person_key),
                   COUNT(DISTINCT CASE WHEN audience IN ({officials}) THEN person_key END)
            FROM people
        ) trained
        WHERE people_trained > 0
    """  # noqa: S608 - table names come from the models, values are parameters
    audiences = [str(a) for a in OFFICIAL_AUDIENCES]
    params = [TrainingSession.Status.HELD.value, start, end, start, end, year]
    params += audiences * 3
    return sql, params


def training_years() -> set[int]:
    """The years in which a session started or a course was completed."""
    years = {d.year for d in TrainingSession.objects.dates("starts_on", "year")}
    return years | {d.year for d in CourseEnrolment.objects.dates("completed_on", "year")}
