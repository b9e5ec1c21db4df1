"""Background work of the trainings app: checking and applying course imports.

Each task takes an import's id, loads it and calls trainings/imports.py, which records
the outcome on the import. Both are safe to run twice (acks_late redelivers a task whose
worker died): each starts only from the status that queued it.
"""

from celery import shared_task

from . import imports
from .models import CourseImport


def _load(import_id: int) -> CourseImport | None:
    return CourseImport.objects.select_related("created_by").filter(pk=import_id).first()


@shared_task(bind=True, acks_late=True, name=imports.CHECK_TASK)
def course_import_check(self, import_id: int) -> None:
    course_import = _load(import_id)
    if course_import is not None:
        imports.course_import_check(course_import)


@shared_task(bind=True, acks_late=True, name=imports.APPLY_TASK)
def course_import_apply(self, import_id: int) -> None:
    course_import = _load(import_id)
    if course_import is not None:
        imports.course_import_apply(course_import)


@shared_task(name="trainings.course_imports_expire")
def course_imports_expire() -> None:
    imports.course_imports_expire()
