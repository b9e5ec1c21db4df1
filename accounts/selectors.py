"""Reads about users, the demo data that comes with them, and the audit trail."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from communes.models import Commune, Hamlet

from .models import AuditEntry, User
from .scopes import scope_for

DEMO_PRESENT_CACHE_KEY = "demo-data-present"


def demo_data_present() -> bool:
    """Whether any demo data is stored; every page shows a ribbon while it is.

    Cached briefly because every page asks (one query a minute, whatever the number of
    requests); seed_demo clears the cached answer. Demo data leaves through the admin
    (a login or hamlet deleted, a commune's figures entered), which the minute covers.
    """
    present = cache.get(DEMO_PRESENT_CACHE_KEY)
    if present is None:
        # One query: the three kinds of demo rows, stopped at the first found.
        present = (
            User.objects.filter(is_demo=True)
            .values("pk")
            .union(
                Commune.objects.filter(figures_are_demo=True).values("pk"),
                Hamlet.objects.filter(is_demo=True).values("pk"),
                all=True,
            )
            .exists()
        )
        cache.set(DEMO_PRESENT_CACHE_KEY, present, timeout=60)
    return present


def demo_read_ahead_keys(request, view) -> list[str]:
    """Every page's ribbon asks the flag (core.cache.read_ahead)."""
    return [DEMO_PRESENT_CACHE_KEY]


def demo_data_changed() -> None:
    # Skipped while the cache is away (core/cache.py): its answer expires within a minute.
    cache.delete(DEMO_PRESENT_CACHE_KEY)


# --- The audit trail, as a record's history page shows it ---------------------------------

# Keys the services record that are not fields of the record.
EXTRA_LABELS = {"merged_into": _("merged into"), "hamlet": _("hamlet")}
EMPTY = "—"


@dataclass
class HistoryChange:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    record: str
    changes: list[HistoryChange] = field(default_factory=list)
    subject: str = ""


def audit_entries_of(records: Iterable[tuple[type[models.Model], Iterable[int]]]):
    """The audit entries of these records (model, primary keys), newest first."""
    query = Q(pk__in=[])
    for model, ids in records:
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
        query |= Q(content_type=content_type, object_id__in=list(ids))
    return AuditEntry.objects.filter(query).select_related("actor", "content_type")


def _shown(model: type[models.Model] | None, key: str, value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    try:
        model_field = model._meta.get_field(key) if model is not None else None
    except FieldDoesNotExist:
        model_field = None
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or EMPTY
    return str(value)


def _label(model: type[models.Model] | None, key: str) -> str:
    try:
        return capfirst(str(model._meta.get_field(key).verbose_name))
    except (FieldDoesNotExist, AttributeError):
        return capfirst(str(EXTRA_LABELS.get(key, key.replace("_", " "))))


def history_changes(
    model: type[models.Model] | None, action: str, changes: dict[str, Any]
) -> list[HistoryChange]:
    """One line a field: its label, and what it was and became, side by side."""
    lines = []
    for key, value in changes.items():
        if key.startswith("_"):
            continue  # kept for finding the entry, not for reading
        if action == AuditEntry.Action.CHANGED and isinstance(value, list) and len(value) == 2:
            before, after = value
        elif action in (AuditEntry.Action.DELETED, AuditEntry.Action.ERASED):
            before, after = value, None
        else:
            before, after = None, value
        shown = HistoryChange(
            _label(model, key), _shown(model, key, before), _shown(model, key, after)
        )
        if shown.before != EMPTY or shown.after != EMPTY:  # a field left empty says nothing
            lines.append(shown)
    return lines


def history_of(
    entries: Iterable[AuditEntry],
    changes_of: Callable[[AuditEntry], dict[str, Any]] | None = None,
) -> list[HistoryEntry]:
    """The entries as a history page shows them. `changes_of` gives an entry's changes
    with the ids a record's entries hold (a visit's members, say) turned into names."""
    shown = []
    for entry in entries:
        model = entry.content_type.model_class() if entry.content_type_id else None
        changes = changes_of(entry) if changes_of is not None else entry.changes
        shown.append(
            HistoryEntry(
                at=entry.at,
                actor=str(entry.actor) if entry.actor_id else str(_("the portal")),
                action=entry.get_action_display(),
                record=entry.object_repr,
                changes=history_changes(model, entry.action, changes),
                subject=entry.subject,
            )
        )
    return shown


# --- Django admin ---------------------------------------------------------------------------


def admin_site_allowed(user: User) -> bool:
    """Whether the user may enter Django admin: an active staff user who sees everything.

    The admin lists every row the user's permissions allow, whatever their scope: staff
    status given to a district's officer would show them the whole province there.
    """
    return bool(user.is_active and user.is_staff and scope_for(user).sees_everything)
