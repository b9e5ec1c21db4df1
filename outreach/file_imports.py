"""What every spreadsheet import shares: reading the file, finding its header, and the
import's life (upload, check, apply) as a FileImport (outreach/models.py) records it.

An import module (outreach/imports.py, trainings/imports.py) gives its columns, how to
check a file and how to apply it; the functions here run those steps in the same order,
with the same statuses, the same guards against a task delivered twice, and the same
progress reporting. Nothing here knows what the rows are about.
"""

import csv
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from importlib import import_module
from typing import Any, Protocol, TypeVar

import openpyxl
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from communes.text import fold

from .models import FileImport

logger = logging.getLogger(__name__)

HEADER_SEARCH_ROWS = 10
MAX_COLUMNS = 60
# An XLSX is a zip: a few hundred kilobytes can unpack into gigabytes (a zip bomb), and
# openpyxl reads the shared strings whole. A member list of 20,000 rows unpacks to some
# 10 MB; anything past this is refused before it is opened.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# What the result keeps for the page: enough to fix a file, not a second copy of it.
MAX_LISTED_ERRORS = 1000
MAX_LISTED_CHANGES = 200
PROGRESS_EVERY = 250

Progress = Callable[[int, int], None]
FI = TypeVar("FI", bound=FileImport)


# --- The file's columns ----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise
    # Headers as found in the lists, in the form `header_key` gives them.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileShape:
    """What an import looks for in a file."""

    columns: tuple[Column, ...]
    # The header row names one column of each group (a commune by code or by name...).
    required: tuple[tuple[str, ...], ...]
    max_rows: int
    # Why a file has no header row: what the columns it needs are.
    missing_header: Promise

    def aliases(self) -> dict[str, str]:
        """Every header a column may have, its own label in each language included."""
        aliases: dict[str, str] = {}
        for column in self.columns:
            for alias in (*column.aliases, *in_every_language(column.label)):
                aliases.setdefault(alias, column.key)
        return aliases


def header_key(text: Any) -> str:
    """A header as compared: folded, without notes in brackets or punctuation."""
    folded = fold(unicodedata.normalize("NFC", str(text or "")))
    folded = re.sub(r"\(.*?\)|\[.*?\]", " ", folded)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def in_every_language(label: Promise) -> set[str]:
    """The label as each of the portal's languages writes it, so its own files round-trip."""
    names = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names.add(header_key(label))
    return names


# --- Reading the file ------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be used (not a spreadsheet, no header row, no rows)."""


class CellError(ValueError):
    """A cell that cannot be read; its message tells the row's author what to write."""


@dataclass
class Table:
    columns: dict[str, int]  # column key -> index in the row
    header_row: int
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells)


def read_table(content: bytes, shape: FileShape) -> Table:
    """The header and the data rows of an XLSX or CSV file, with spreadsheet row numbers."""
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_table(content, shape)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be read. Save the file as .xlsx or as CSV UTF-8.")
        )
    return find_header(csv_rows(content), shape)


def _check_unpacked_size(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        return  # openpyxl says the file cannot be read
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        logger.warning("workbook refused: %d bytes unpack to %d", len(content), unpacked)
        raise ImportFileError(
            _(
                "This file unpacks to far more than a spreadsheet of members needs, so it "
                "is not read. Open it in Excel, keep only the list, and save it again."
            )
        )


def _xlsx_table(content: bytes, shape: FileShape) -> Table:
    """The first sheet with a header row, the active sheet looked at first."""
    _check_unpacked_size(content)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheets = [workbook.active, *(s for s in workbook.worksheets if s != workbook.active)]
    except Exception as exc:
        logger.info("unreadable workbook: %r", exc)
        raise ImportFileError(
            _("This Excel file cannot be read. Open it in Excel and save it again as .xlsx.")
        ) from None
    refusal = None
    for sheet in sheets:
        if sheet is None or not hasattr(sheet, "reset_dimensions"):
            continue  # a chart sheet
        # Some programs write a wrong sheet size; reading every row is the safe way.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
        try:
            return find_header(rows, shape)
        except ImportFileError as exc:
            refusal = refusal or exc
    raise refusal or ImportFileError(_("The workbook has no sheet."))


def csv_rows(content: bytes) -> Iterator[list[str]]:
    # Excel saves "CSV UTF-8" with a BOM; older Vietnamese Windows saves in cp1258.
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(
            _(
                "The file is neither an Excel workbook nor a CSV file in a known encoding. "
                "In Excel choose Save As, then CSV UTF-8."
            )
        )
    if "\x00" in text:
        raise ImportFileError(
            _("This is not a CSV file. Upload an Excel workbook (.xlsx) or a CSV UTF-8 file.")
        )
    # Excel writes ";" where the decimal mark is a comma. The delimiter is the one that
    # splits the opening lines (title rows included) into the most columns.
    head = text[:16384].splitlines()[: HEADER_SEARCH_ROWS + 5]
    delimiter = max(
        ",;\t", key=lambda d: max((len(r) for r in csv.reader(head, delimiter=d)), default=0)
    )
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def find_header(rows: Iterable[list[Any] | tuple], shape: FileShape) -> Table:
    """The header is the first row, among the first ten, naming the shape's required columns.

    Rows are read up to a limit, so that a file unpacking into far more (or into endless
    columns) cannot exhaust a worker. Empty rows are dropped as they come, so rows that
    are merely formatted cost nothing.
    """
    kept: list[tuple[int, list[Any]]] = []
    for number, cells in enumerate(rows, start=1):
        cells = list(cells[:MAX_COLUMNS])
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        if len(kept) > shape.max_rows:
            raise ImportFileError(
                _("The file has more than %(limit)s rows. Split it into several files.")
                % {"limit": f"{shape.max_rows:,}".replace(",", ".")}
            )
        kept.append((number, cells))
    aliases = shape.aliases()
    for index, (number, cells) in enumerate(kept):
        if number > HEADER_SEARCH_ROWS:
            break
        columns: dict[str, int] = {}
        for position, cell in enumerate(cells):
            key = aliases.get(header_key(cell))
            if key is not None:
                columns.setdefault(key, position)
        if all(any(key in columns for key in group) for group in shape.required):
            return Table(columns=columns, header_row=number, rows=kept[index + 1 :])
    raise ImportFileError(str(shape.missing_header))


# --- Checking and applying -------------------------------------------------------------


class CheckedPlan(Protocol):
    """What an import module's plan gives: the rows read, their errors, the page's JSON."""

    rows: int
    errors: dict[int, list[str]]

    def summary(self) -> dict: ...


class ApplyRefused(Exception):
    """A service refused a change the check let through (the data changed meanwhile)."""

    def __init__(self, row: int, messages: list[str]):
        super().__init__(row, messages)
        self.row = row
        self.messages = messages


@contextmanager
def refusal_of(row: int) -> Iterator[None]:
    """Turn a service's ValidationError into a refusal naming the row."""
    try:
        yield
    except ValidationError as exc:
        raise ApplyRefused(row, exc.messages) from exc


class Invalid(Exception):
    """The file has errors after all: the apply stops and stores them as the result."""

    def __init__(self, result: dict):
        super().__init__()
        self.result = result


def plan_result(plan: CheckedPlan) -> dict:
    """The result a check stores: the plan's summary, or why a file without rows is no use."""
    result = plan.summary()
    if not plan.rows:
        result["file_error"] = _("The file has a header row but no rows below it.")
    return result


def failure(message: str = "") -> dict:
    return {
        "failure": message
        or _("The import stopped on an unexpected error and changed nothing. Try again later.")
    }


def import_save(file_import: FileImport, **values) -> None:
    for name, value in values.items():
        setattr(file_import, name, value)
    file_import.save(update_fields=[*values, "updated_at"])


# --- The import's life: upload, check, apply -------------------------------------------


def _queue(app_label: str, task_name: str, import_id: int) -> None:
    # The app's tasks.py imports its import module, which imports this one, so the task
    # is looked up when queued, not at import; importing tasks registers it.
    import_module(f"{app_label}.tasks")
    current_app.tasks[task_name].delay(import_id)


def _queue_on_commit(file_import: FileImport, task_name: str) -> None:
    app_label, import_id = file_import._meta.app_label, file_import.pk

    # A named function, not a partial: Django logs a robust callback's failure by its
    # __qualname__, which a partial lacks, and the logging itself would then raise.
    def queue_import_task() -> None:
        _queue(app_label, task_name, import_id)

    transaction.on_commit(queue_import_task, robust=True)


@transaction.atomic
def file_import_create(*, model: type[FI], check_task: str, **fields: Any) -> FI:
    """Store an uploaded file and queue its check once the upload is committed."""
    file_import = model.objects.create(**fields)
    _queue_on_commit(file_import, check_task)
    return file_import


@transaction.atomic
def file_import_recheck(*, file_import: FileImport, check_task: str) -> bool:
    """Check a file again (after a fix in the portal, or when its check never ran)."""
    Status = FileImport.Status
    redoable = [Status.UPLOADED, Status.INVALID, Status.FAILED]
    started = (
        type(file_import)
        .objects.filter(pk=file_import.pk, status__in=redoable)
        .update(status=Status.UPLOADED, rows_done=0, updated_at=timezone.now())
    )
    if started:
        _queue_on_commit(file_import, check_task)
    return bool(started)


@transaction.atomic
def file_import_apply_request(*, file_import: FileImport, apply_task: str) -> bool:
    """Queue the apply of a checked file; a second click queues nothing."""
    Status = FileImport.Status
    started = (
        type(file_import)
        .objects.filter(pk=file_import.pk, status=Status.CHECKED)
        .update(status=Status.APPLYING, rows_done=0, updated_at=timezone.now())
    )
    if started:
        _queue_on_commit(file_import, apply_task)
    return bool(started)


def _progress_key(file_import: FileImport) -> str:
    return file_import.PROGRESS_KEY.format(pk=file_import.pk)


def _cache_progress(key: str, import_id: int, done: int, total: int) -> None:
    # The apply runs in one transaction, so rows it writes are invisible to the progress
    # page until it ends; its progress goes through the cache instead. A cache that is
    # down costs the progress bar, never the import.
    try:
        cache.set(key, (done, total), timeout=3600)
    except Exception:
        logger.warning("could not record the progress of import %s", import_id, exc_info=True)


def import_progress(file_import: FileImport) -> int:
    """How far the running step is, in percent."""
    if file_import.status == FileImport.Status.DONE:
        return 100
    done, total = file_import.rows_done, file_import.rows_total
    if file_import.status == FileImport.Status.APPLYING:
        try:
            done, total = cache.get(_progress_key(file_import)) or (0, 0)
        except Exception:
            done, total = 0, 0
    return min(100, done * 100 // total) if total else 0


def file_import_check(file_import: FileImport, *, check: Callable[[Progress], CheckedPlan]) -> None:
    """Check an uploaded file and store its errors or its preview. Writes nothing else.

    `check(progress)` reads the import's file and returns its plan, writing nothing.
    """
    Status = FileImport.Status
    if file_import.status not in (Status.UPLOADED, Status.CHECKING):
        return  # a second delivery of a check that already ran
    import_save(file_import, status=Status.CHECKING, rows_done=0)
    model = type(file_import)

    def progress(done: int, total: int) -> None:
        model.objects.filter(pk=file_import.pk).update(rows_done=done, rows_total=total)

    with translation.override(file_import.language):
        try:
            plan = check(progress)
        except ImportFileError as exc:
            import_save(file_import, status=Status.INVALID, result={"file_error": str(exc)})
            return
        except Exception:
            logger.exception("check of %s %s failed", model._meta.label, file_import.pk)
            import_save(file_import, status=Status.FAILED, result=failure())
            return
        result = plan_result(plan)
        invalid = plan.errors or "file_error" in result
        import_save(
            file_import,
            status=Status.INVALID if invalid else Status.CHECKED,
            result=result,
            rows_done=plan.rows,
            rows_total=plan.rows,
        )


def file_import_apply(file_import: FI, *, apply: Callable[[FI, Progress], dict[str, Any]]) -> None:
    """Check the file again and apply it in one transaction: every change or none.

    `apply(locked, progress)` checks the locked import's file again, raises Invalid when
    it has errors, writes every row, and returns the fields to store with the DONE status.
    """
    Status = FileImport.Status
    if file_import.status != Status.APPLYING:
        return  # a second delivery of an apply that already ran
    model = type(file_import)
    progress = partial(_cache_progress, _progress_key(file_import), file_import.pk)
    with translation.override(file_import.language):
        try:
            with transaction.atomic():
                locked = model.objects.select_for_update().get(pk=file_import.pk)
                if locked.status != Status.APPLYING:
                    return
                done = apply(locked, progress)
                import_save(locked, status=Status.DONE, **done)
        except Invalid as exc:
            import_save(file_import, status=Status.INVALID, result=exc.result)
        except ApplyRefused as exc:
            result = {
                **file_import.result,
                "errors": [{"row": exc.row, "messages": exc.messages}],
            }
            result.setdefault("counts", {})["error_rows"] = 1
            import_save(file_import, status=Status.INVALID, result=result)
        except ImportFileError as exc:
            import_save(file_import, status=Status.INVALID, result={"file_error": str(exc)})
        except PermissionDenied as exc:
            import_save(file_import, status=Status.FAILED, result=failure(str(exc)))
        except Exception:
            logger.exception("apply of %s %s failed", model._meta.label, file_import.pk)
            import_save(file_import, status=Status.FAILED, result=failure())


def applied_plan(plan: CheckedPlan, applied: dict[str, int]) -> dict[str, Any]:
    """The fields an apply stores with the DONE status: the preview and what it did."""
    return {
        "result": {**plan.summary(), "applied": applied},
        "rows_done": plan.rows,
        "rows_total": plan.rows,
    }


# Uploaded lists hold personal data: keep them no longer than needed.
IMPORTS_KEPT = timedelta(days=30)


def file_imports_expire(*, model: type[FileImport], now: datetime | None = None) -> int:
    """Delete imports older than 30 days that are not running; returns how many."""
    now = now or timezone.now()
    Status = FileImport.Status
    deleted, _by_model = (
        model.objects.filter(created_at__lt=now - IMPORTS_KEPT)
        .exclude(status__in=[Status.CHECKING, Status.APPLYING])
        .delete()
    )
    return deleted


def detail_context(file_import: FileImport) -> dict[str, Any]:
    """What an import's page shows of it, whichever import it is."""
    result = file_import.result or {}
    return {
        "import": file_import,
        "result": result,
        "counts": result.get("counts", {}),
        "applied": result.get("applied"),
        "percent": import_progress(file_import),
        "can_apply": file_import.can_apply,
        "can_recheck": file_import.can_recheck,
    }
