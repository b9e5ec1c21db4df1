"""What every spreadsheet import shares: reading the file, finding its header, and the
import's life (upload, check, apply) as a FileImport (core/models.py) records it.

An import module (outreach/imports.py, trainings/imports.py) gives its columns, how to
check a file and how to apply it; the functions here run those steps in the same order,
with the same statuses, the same guards against a task delivered twice, and the same
progress reporting. Nothing here knows what the rows are about.

- headers.py: the headers offices write over each column, for every import;
- columns.py: the columns an import reads, and how a header is matched to one;
- table.py: the header row, the data rows, and how the file was read (for the preview);
- reading.py: the XLSX or CSV file's rows.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from importlib import import_module
from typing import Any, Protocol, TypeVar

from celery import current_app
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import FileImport
from .columns import (
    Column,
    FileShape,
    header_key,
    headers_markdown,
    in_every_language,
    match_header,
)
from .reading import MAX_UNPACKED_BYTES, csv_rows, read_table
from .table import (
    HEADER_SEARCH_ROWS,
    MAX_COLUMNS,
    CellError,
    Header,
    ImportFileError,
    MissingHeader,
    Table,
    find_header,
)

__all__ = [
    "HEADER_SEARCH_ROWS",
    "MAX_COLUMNS",
    "MAX_UNPACKED_BYTES",
    "CellError",
    "Column",
    "FileShape",
    "Header",
    "ImportFileError",
    "MissingHeader",
    "Table",
    "csv_rows",
    "find_header",
    "header_key",
    "headers_markdown",
    "in_every_language",
    "match_header",
    "read_table",
]

logger = logging.getLogger(__name__)

# What the result keeps for the page: enough to fix a file, not a second copy of it.
MAX_LISTED_ERRORS = 1000
MAX_LISTED_CHANGES = 200
PROGRESS_EVERY = 250

Progress = Callable[[int, int], None]
FI = TypeVar("FI", bound=FileImport)


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


def plan_result(plan: CheckedPlan, table: Table) -> dict:
    """The result a check stores: how the file was read and the plan's summary, or only
    why a file without rows is no use (an empty preview beside it would say nothing)."""
    if not plan.rows:
        return {"file_error": _("The file has a header row but no rows below it.")}
    return {**table.report(), **plan.summary()}


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


def _cache_progress(key: str, done: int, total: int) -> None:
    # The apply runs in one transaction, so rows it writes are invisible to the progress
    # page until it ends; its progress goes through the cache instead. A cache that is
    # down costs the progress bar, never the import (core/cache.py).
    cache.set(key, (done, total), timeout=3600)


def import_progress(file_import: FileImport) -> int:
    """How far the running step is, in percent."""
    if file_import.status == FileImport.Status.DONE:
        return 100
    done, total = file_import.rows_done, file_import.rows_total
    if file_import.status == FileImport.Status.APPLYING:
        done, total = cache.get(_progress_key(file_import)) or (0, 0)
    return min(100, done * 100 // total) if total else 0


def file_import_check(
    file_import: FileImport,
    *,
    shape: FileShape,
    check: Callable[[Table, Progress], CheckedPlan],
) -> None:
    """Check an uploaded file and store its errors or its preview. Writes nothing else.

    `check(table, progress)` returns the plan of the file's rows, writing nothing.
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
            table = read_table(bytes(file_import.content), shape)
            plan = check(table, progress)
        except ImportFileError as exc:
            import_save(file_import, status=Status.INVALID, result={"file_error": str(exc)})
            return
        except Exception:
            logger.exception("check of %s %s failed", model._meta.label, file_import.pk)
            import_save(file_import, status=Status.FAILED, result=failure())
            return
        result = plan_result(plan, table)
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
    progress = partial(_cache_progress, _progress_key(file_import))
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


def applied_plan(plan: CheckedPlan, applied: dict[str, int], table: Table) -> dict[str, Any]:
    """The fields an apply stores with the DONE status: the preview and what it did."""
    return {
        "result": {**plan_result(plan, table), "applied": applied},
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
