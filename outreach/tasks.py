"""Background work of the outreach app: checking and applying member imports.

Each task takes an import's id, loads it and calls outreach/imports.py, which records
the outcome on the import. Both are safe to run twice (acks_late redelivers a task whose
worker died): each starts only from the status that queued it.
"""

from celery import shared_task

from . import imports
from .models import MemberImport
from .services import privacy


def _load(import_id: int) -> MemberImport | None:
    return MemberImport.objects.select_related("created_by").filter(pk=import_id).first()


@shared_task(bind=True, acks_late=True, name=imports.CHECK_TASK)
def member_import_check(self, import_id: int) -> None:
    member_import = _load(import_id)
    if member_import is not None:
        imports.member_import_check(member_import)


@shared_task(bind=True, acks_late=True, name=imports.APPLY_TASK)
def member_import_apply(self, import_id: int) -> None:
    member_import = _load(import_id)
    if member_import is not None:
        imports.member_import_apply(member_import)


@shared_task(name="outreach.member_imports_expire")
def member_imports_expire() -> None:
    imports.member_imports_expire()


@shared_task(name="outreach.households_retention")
def households_retention() -> int:
    return privacy.households_retention()
