"""Import of the online-course platform's enrolment and completion list (XLSX or CSV).

One row per learner and course: name, agency, e-mail or phone, course, the day they
enrolled, the day they completed it and their score, under a header row that may have
title rows above it. Headers are recognised in Vietnamese or English, whatever their
case and accents. The file is read as every import reads it (core/file_imports/),
and its cells with the member import's readers (outreach/imports.py): the same
encodings, date and phone cells, formula quotes.

An import runs in two steps, each in a Celery task (trainings/tasks.py), through the
steps every import shares (core/file_imports/):

- check: read the file, validate every row as course_enrolment_save would, and
  describe what would be created, updated or left as it is, and where each completion
  counts (a commune, a district, the province). It writes nothing but the import's own
  status.
- apply: check again (the database may have changed since), then, in one transaction,
  call course_enrolment_save for every row: one bad row and nothing is saved.

A learner is their phone, else their e-mail, else their name and agency (the service's
person_key); with the course, that finds their record, so a file imported twice
changes nothing the second time.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import ensure_can
from accounts.models import User
from communes.models import Commune, District
from communes.names import PlaceNames
from core import file_imports
from core.file_imports import (
    MAX_LISTED_CHANGES,
    MAX_LISTED_ERRORS,
    PROGRESS_EVERY,
    CellError,
    Column,
    FileShape,
    Invalid,
    Table,
    applied_plan,
    file_import_apply,
    file_import_apply_request,
    file_import_check,
    file_import_create,
    file_import_recheck,
    file_imports_expire,
    plan_result,
    refusal_of,
)
from core.file_imports.cells import read_date, read_name, read_phone, read_text
from core.names import NameIndex
from core.text import has_marks

from .models import CourseEnrolment, CourseImport
from .services import (
    course_enrolment_save,
    course_index,
    course_name_resolve,
    person_key,
    place_from_agency,
    place_index,
)

logger = logging.getLogger(__name__)

# A year's export for the province's 20,000 officials, with room to spare; a 5 MB file
# holds about that many rows.
MAX_ROWS = 40_000

# The tasks' registered names (trainings/tasks.py).
CHECK_TASK = "trainings.course_import_check"
APPLY_TASK = "trainings.course_import_apply"


def _label(name: str):
    return CourseEnrolment._meta.get_field(name).verbose_name


# --- The file's columns ----------------------------------------------------------------

# The headers each column may have are in core/file_imports/headers.py, shared
# with the member import.
COLUMNS = (
    Column("full_name", _label("full_name")),
    Column("agency", _label("agency")),
    Column("email", _label("email")),
    Column("phone", gettext_lazy("Phone")),
    Column("course", _label("course")),
    Column("enrolled_on", _label("enrolled_on")),
    Column("completed_on", _label("completed_on")),
    Column("score", _label("score")),
)
COLUMNS_BY_KEY = {c.key: c for c in COLUMNS}


SHAPE = FileShape(
    columns=COLUMNS,
    required=(("full_name",), ("course",)),
    max_rows=MAX_ROWS,
    missing_header=gettext_lazy(
        "No header row was found in the first 10 rows. The file needs a column for the "
        "learner's full name and one for the course; see the columns listed on the "
        "upload page."
    ),
    # A learner without phone or e-mail is told apart by name and agency alone; a list
    # without completion dates counts no completion.
    needed=(("phone", "email"), ("completed_on",)),
)


def read_table(content: bytes) -> Table:
    """The header and the data rows of the platform's list, with spreadsheet row numbers."""
    return file_imports.read_table(content, SHAPE)


# --- Reading cells ---------------------------------------------------------------------

SCORE_MAX = Decimal(100)
_CENT = Decimal("0.01")


def _score(value: Any) -> Decimal | None:
    """A score from 0 to 100, as the platform gives it ("85", "85,5", "85.5%")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CellError(_("Give a number from 0 to 100."))
    if isinstance(value, int | float):
        text = repr(value)
    else:
        text = read_text(value).rstrip("%").strip()
        # A decimal comma, as Vietnamese writes it ("8,5"); a thousands dot is no score.
        if "," in text and "." not in text:
            text = text.replace(",", ".")
    try:
        score = Decimal(text)
    except InvalidOperation:
        raise CellError(_("Give a number from 0 to 100.")) from None
    if not score.is_finite() or not 0 <= score <= SCORE_MAX:
        raise CellError(_("Give a number from 0 to 100."))
    return score.quantize(_CENT, rounding=ROUND_HALF_UP)


def _email(value: Any) -> str:
    return read_text(value).lower()


READERS: dict[str, Callable[[Any], Any]] = {
    "full_name": read_name,
    "agency": read_name,
    "email": _email,
    "phone": read_phone,
    "course": read_name,
    "enrolled_on": read_date,
    "completed_on": read_date,
    "score": _score,
}


# --- The plan: what a file would change ------------------------------------------------

# The fields of a learner's record a row gives, compared as course_enrolment_save does.
RECORD_FIELDS = (
    "full_name",
    "agency",
    "email",
    "phone",
    "enrolled_on",
    "completed_on",
    "score",
    "commune_id",
    "district_id",
)


@dataclass
class Learner:
    """One row's record of a learner on a course, typed and where it counts."""

    row: int
    course: str
    full_name: str
    agency: str = ""
    email: str = ""
    phone: str = ""
    enrolled_on: date | None = None
    completed_on: date | None = None
    score: Decimal | None = None
    commune: Commune | None = None
    district: District | None = None

    @property
    def key(self) -> str:
        return person_key(
            phone=self.phone, email=self.email, full_name=self.full_name, agency=self.agency
        )

    @property
    def commune_id(self) -> int | None:
        return self.commune.pk if self.commune else None

    @property
    def district_id(self) -> int | None:
        return self.district.pk if self.district else None

    @property
    def level(self) -> str:
        """Where the completion counts."""
        if self.commune is not None:
            return "commune"
        if self.district is not None:
            return "district"
        return "province"

    def place_name(self) -> str:
        unit = self.commune or self.district
        return unit.name if unit else str(_("Province"))


@dataclass
class Plan:
    rows: int = 0
    errors: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    learners: list[Learner] = field(default_factory=list)
    creates: list[Learner] = field(default_factory=list)
    updates: list[tuple[Learner, list[str]]] = field(default_factory=list)
    unchanged: int = 0

    def error(self, row: int, message: str) -> None:
        self.errors[row].append(str(message))

    def completions(self) -> dict[str, int]:
        counts = {"commune": 0, "district": 0, "province": 0}
        for learner in self.learners:
            if learner.completed_on is not None:
                counts[learner.level] += 1
        return counts

    def summary(self) -> dict:
        """What the import page shows, as JSON: the errors or the preview."""
        completions = self.completions()
        return {
            "counts": {
                "rows": self.rows,
                "error_rows": len(self.errors),
                "create": len(self.creates),
                "update": len(self.updates),
                "unchanged": self.unchanged,
                "completions_commune": completions["commune"],
                "completions_district": completions["district"],
                "completions_province": completions["province"],
            },
            "errors": [
                {"row": row, "messages": messages}
                for row, messages in sorted(self.errors.items())[:MAX_LISTED_ERRORS]
            ],
            "creates": [_learner_summary(x) for x in self.creates[:MAX_LISTED_CHANGES]],
            "updates": [
                {**_learner_summary(x), "changes": changes}
                for x, changes in self.updates[:MAX_LISTED_CHANGES]
            ],
        }


def _learner_summary(learner: Learner) -> dict:
    return {
        "row": learner.row,
        "full_name": learner.full_name,
        "course": learner.course,
        "place": learner.place_name(),
        "completed_on": learner.completed_on.isoformat() if learner.completed_on else "",
    }


def _parse_row(number: int, cells: list[Any], columns: dict[str, int], plan: Plan):
    """The row's typed values; each cell that cannot be read is an error of the row."""
    values: dict[str, Any] = {}
    for key, reader in READERS.items():
        position = columns.get(key)
        raw = cells[position] if position is not None and position < len(cells) else None
        if isinstance(raw, str) and not raw.strip():
            raw = None
        if raw is None:
            continue
        try:
            value = reader(raw)
        except CellError as exc:
            plan.error(number, f"{capfirst(COLUMNS_BY_KEY[key].label)}: {exc}")
            continue
        if value not in ("", None):
            values[key] = value
    return values


def _check_values(number: int, values: dict[str, Any], plan: Plan, today: date) -> None:
    """The rules of a learner's record that do not need the database."""
    if not values.get("full_name"):
        plan.error(number, _("Give the learner's full name."))
    if not values.get("course"):
        plan.error(number, _("Give the course's name."))
    if not (values.get("email") or values.get("phone") or values.get("agency")):
        plan.error(
            number,
            _("Give the learner's e-mail, phone number or agency, so that they can be told apart."),
        )
    enrolled, completed = values.get("enrolled_on"), values.get("completed_on")
    if enrolled and completed and completed < enrolled:
        plan.error(number, _("A course cannot be completed before enrolling."))
    for key in ("enrolled_on", "completed_on"):
        if values.get(key) and values[key] > today:
            plan.error(
                number,
                _("%(column)s: the date is in the future.")
                % {"column": capfirst(COLUMNS_BY_KEY[key].label)},
            )
    # The model's own rules for the fields the row gives (lengths, the e-mail's form).
    candidate = CourseEnrolment(**values)
    try:
        candidate.clean_fields(
            exclude=[f.name for f in CourseEnrolment._meta.fields if f.name not in values]
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            label = capfirst(CourseEnrolment._meta.get_field(name).verbose_name)
            for message in messages:
                plan.error(number, f"{label}: {message}")


def _existing(learners: list[Learner]) -> dict[tuple[str, str], CourseEnrolment]:
    """The records the file's learners already have, in few queries."""
    keys = sorted({x.key for x in learners})
    courses = {x.course for x in learners}
    found: dict[tuple[str, str], CourseEnrolment] = {}
    for start in range(0, len(keys), 2000):
        for enrolment in CourseEnrolment.objects.filter(
            person_key__in=keys[start : start + 2000], course__in=courses
        ).only("course", "person_key", *RECORD_FIELDS):
            found[(enrolment.course, enrolment.person_key)] = enrolment
    return found


def build_plan(
    *, table: Table, progress: Callable[[int, int], None] | None = None
) -> tuple[Plan, PlaceNames, NameIndex[str]]:
    """Check every row and work out what the file would change. Writes nothing.

    Returns the plan and the indexes of place and course names it used, for the apply
    to reuse.
    """
    plan = Plan()
    places = place_index()
    courses = course_index()
    place_of: dict[str, tuple[Commune | None, District | None]] = {}
    today = timezone.localdate()
    data = [(n, cells) for n, cells in table.rows if not _is_empty(cells, table.columns)]
    plan.rows = len(data)
    rows: list[tuple[int, dict[str, Any]]] = []
    for done, (number, cells) in enumerate(data, start=1):
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, len(data))
        values = _parse_row(number, cells, table.columns, plan)
        _check_values(number, values, plan, today)
        if number not in plan.errors:
            rows.append((number, values))
    # Course names written with tone marks first, so that one written without them
    # finds the course the file spells properly further down.
    for number, values in sorted(rows, key=lambda row: not has_marks(row[1]["course"])):
        try:
            values["course"] = course_name_resolve(values["course"], courses)
        except ValidationError as exc:
            for message in exc.messages:
                plan.error(number, f"{capfirst(COLUMNS_BY_KEY['course'].label)}: {message}")
    seen: dict[tuple[str, str], int] = {}
    for number, values in rows:
        if number in plan.errors:
            continue
        learner = Learner(row=number, **values)
        if learner.agency not in place_of:
            place_of[learner.agency] = place_from_agency(learner.agency, places)
        learner.commune, learner.district = place_of[learner.agency]
        identity = (learner.course, learner.key)
        if identity in seen:
            plan.error(
                number,
                _("Row %(row)d already gives this learner's record of this course.")
                % {"row": seen[identity]},
            )
            continue
        seen[identity] = number
        plan.learners.append(learner)

    existing = _existing(plan.learners)
    for learner in plan.learners:
        record = existing.get((learner.course, learner.key))
        if record is None:
            plan.creates.append(learner)
            continue
        changes = [
            name for name in RECORD_FIELDS if getattr(record, name) != getattr(learner, name)
        ]
        if changes:
            labels = [_change_label(name) for name in changes]
            plan.updates.append((learner, list(dict.fromkeys(labels))))
        else:
            plan.unchanged += 1
    if progress:
        progress(len(data), len(data))
    return plan, places, courses


def _change_label(name: str) -> str:
    if name in ("commune_id", "district_id"):
        return str(_("Where it counts"))
    return str(capfirst(CourseEnrolment._meta.get_field(name).verbose_name))


def _is_empty(cells: list[Any], columns: dict[str, int]) -> bool:
    return all(
        position >= len(cells) or cells[position] is None or not str(cells[position]).strip()
        for position in columns.values()
    )


# --- Applying a clean plan -------------------------------------------------------------


def apply_plan(
    *,
    by: User,
    plan: Plan,
    places: PlaceNames,
    courses: NameIndex[str],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Write a clean plan through course_enrolment_save. Call inside a transaction."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    total = len(plan.learners)
    for done, learner in enumerate(plan.learners, start=1):
        with refusal_of(learner.row):
            _enrolment, created, changed = course_enrolment_save(
                by=by,
                course=learner.course,
                full_name=learner.full_name,
                agency=learner.agency,
                email=learner.email,
                phone=learner.phone,
                enrolled_on=learner.enrolled_on,
                completed_on=learner.completed_on,
                score=learner.score,
                places=places,
                courses=courses,
            )
        counts["created" if created else "updated" if changed else "unchanged"] += 1
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, total)
    return counts


# --- The import's life: upload, check, apply -------------------------------------------


def course_import_create(
    *, by: User, file_name: str, content: bytes, language: str
) -> CourseImport:
    """Store an uploaded file and queue its check once the upload is committed."""
    ensure_can(by, "trainings.add_courseenrolment", None)
    return file_import_create(
        model=CourseImport,
        check_task=CHECK_TASK,
        created_by=by,
        file_name=file_name[:255],
        content=content,
        language=language,
    )


def course_import_recheck(*, course_import: CourseImport) -> bool:
    """Check a file again (after a fix in the portal, or when its check never ran)."""
    return file_import_recheck(file_import=course_import, check_task=CHECK_TASK)


def course_import_apply_request(*, course_import: CourseImport) -> bool:
    """Queue the apply of a checked file; a second click queues nothing."""
    return file_import_apply_request(file_import=course_import, apply_task=APPLY_TASK)


def course_import_check(course_import: CourseImport) -> None:
    """Check an uploaded file and store its errors or its preview. Writes no records."""

    def check(table: Table, progress: Callable[[int, int], None]) -> Plan:
        plan, _places, _courses = build_plan(table=table, progress=progress)
        return plan

    file_import_check(course_import, shape=SHAPE, check=check)


def _apply(locked: CourseImport, progress: Callable[[int, int], None]) -> dict[str, Any]:
    table = read_table(bytes(locked.content))
    plan, places, courses = build_plan(table=table)
    if plan.errors or not plan.rows:
        raise Invalid(plan_result(plan, table))
    counts = apply_plan(
        by=locked.created_by, plan=plan, places=places, courses=courses, progress=progress
    )
    return applied_plan(plan, counts, table)


def course_import_apply(course_import: CourseImport) -> None:
    """Check the file again and apply it in one transaction: every row or none."""
    file_import_apply(course_import, apply=_apply)


def course_imports_expire(*, now: datetime | None = None) -> int:
    """Delete imports older than 30 days that are not running; returns how many."""
    return file_imports_expire(model=CourseImport, now=now)
