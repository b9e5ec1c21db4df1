"""Writes to users (creating logins, setting their scope with its role group) and to the
audit trail every app's services write in their own transactions."""

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from communes.models import Commune, District, Province

from .backends import permissions_changed
from .models import AuditEntry, ScopeLevel, User
from .roles import ROLE_FOR_LEVEL


def user_role_sync(*, user: User) -> None:
    """Put the user in the role group of their scope level and in no other role group.

    Groups that are not roles (added by admins for other purposes) are left alone.
    """
    role_names = set(ROLE_FOR_LEVEL.values())
    wanted = ROLE_FOR_LEVEL.get(user.scope_level)
    current = set(user.groups.filter(name__in=role_names).values_list("name", flat=True))
    if current - {wanted}:
        user.groups.remove(*Group.objects.filter(name__in=current - {wanted}))
    if wanted and wanted not in current:
        user.groups.add(Group.objects.get(name=wanted))


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    full_name: str = "",
    scope_level: str = "",
    province: Province | None = None,
    district: District | None = None,
    commune: Commune | None = None,
    is_demo: bool = False,
) -> User:
    """Create a login with its scope and role. No password means none can be used."""
    user = User(
        username=username,
        full_name=full_name,
        scope_level=scope_level,
        scope_province=province if scope_level == ScopeLevel.PROVINCE else None,
        scope_district=district if scope_level == ScopeLevel.DISTRICT else None,
        scope_commune=commune if scope_level == ScopeLevel.COMMUNE else None,
        is_demo=is_demo,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    user_role_sync(user=user)
    return user


@transaction.atomic
def users_create_many(*, users: list[User]) -> list[User]:
    """Save many new logins at once (demo data), each in the role group of its scope
    level, in two inserts. The users come unsaved and checked by the caller, with their
    password set (or unusable); no signal is sent, so the cached permissions are renewed
    here."""
    created = User.objects.bulk_create(users, batch_size=1000)
    groups = dict(Group.objects.filter(name__in=ROLE_FOR_LEVEL.values()).values_list("name", "pk"))
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=user.pk, group_id=groups[ROLE_FOR_LEVEL[user.scope_level]])
            for user in created
            if user.scope_level in ROLE_FOR_LEVEL
        ],
        batch_size=1000,
    )
    permissions_changed()
    return created


@transaction.atomic
def user_save(*, user: User) -> User:
    """Validate and save a user edited in admin, keeping the role group in line."""
    user.full_clean(exclude=["password"])
    user.save()
    user_role_sync(user=user)
    return user


# --- The audit trail --------------------------------------------------------------------


def audit_value(obj: models.Model, field_name: str) -> Any:
    """A field's value as the history shows it: text for a related record, ISO for a
    date, the stored value otherwise (choices are shown by their label when read)."""
    field = obj._meta.get_field(field_name)
    if field.is_relation:
        related = getattr(obj, field_name)
        return str(related) if related is not None else None
    value = getattr(obj, field.attname)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def audit_snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: audit_value(obj, name) for name in fields}


def _actor(by: User | None) -> User | None:
    return by if by is not None and by.pk else None


def audit_entry(
    *,
    by: User | None,
    action: str,
    obj: models.Model,
    commune_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry | None:
    """Record a write in the writer's transaction: a change records only the fields that
    changed (and nothing at all when none did)."""
    if action == AuditEntry.Action.CHANGED:
        before, after = before or {}, after or {}
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if not changes:
            return None
    else:
        changes = after if after is not None else (before or {})
    return AuditEntry.objects.create(
        actor=_actor(by),
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        commune_id=commune_id,
        changes=changes,
    )


def audit_entries_created(
    *, by: User | None, objects: list[models.Model], fields: Iterable[str], commune_of
) -> None:
    """The creations of a batch (an import), in one insert."""
    fields = list(fields)
    audit_entries_many(
        by=by,
        action=AuditEntry.Action.CREATED,
        objects=objects,
        commune_of=commune_of,
        changes_of=lambda obj: audit_snapshot(obj, fields),
    )


def audit_entries_many(
    *,
    by: User | None,
    action: str,
    objects: list[models.Model],
    commune_of: Callable[[models.Model], int | None],
    changes_of: Callable[[models.Model], dict[str, Any]],
) -> None:
    """One entry per record of a batch written at once (an import, a merge moving
    visits), in one insert; `changes_of` gives each record's entry as audit_entry
    would store it."""
    if not objects:
        return
    content_type = ContentType.objects.get_for_model(objects[0], for_concrete_model=True)
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=_actor(by),
                action=action,
                content_type=content_type,
                object_id=obj.pk,
                object_repr=str(obj)[:200],
                commune_id=commune_of(obj),
                changes=changes_of(obj),
            )
            for obj in objects
        ],
        batch_size=1000,
    )


def audit_access(
    *,
    by: User,
    action: str,
    subject: str = "",
    obj: models.Model | None = None,
    commune_id: int | None = None,
) -> None:
    """Who viewed or exported personal data: one record, or a list named by `subject`."""
    AuditEntry.objects.create(
        actor=_actor(by),
        action=action,
        content_type=(
            ContentType.objects.get_for_model(obj, for_concrete_model=True) if obj else None
        ),
        object_id=obj.pk if obj is not None else None,
        object_repr=str(obj)[:200] if obj is not None else "",
        subject=subject[:200],
        commune_id=commune_id,
    )


ERASED = "[…]"


def audit_scrub(*, obj: models.Model, fields: Iterable[str], label: str) -> int:
    """Take a record's personal data out of its audit trail: the record's name becomes
    `label` and the named fields' values, before and after, become ERASED. Who did what
    and when stays. Returns the entries changed."""
    return audit_scrub_many(model=type(obj), labels={obj.pk: label}, fields=fields)


def audit_scrub_many(
    *, model: type[models.Model], labels: dict[int, str], fields: Iterable[str]
) -> int:
    """audit_scrub for many records of one model at once (a household's visits):
    `labels` maps each record's primary key to the name its entries keep."""
    fields = set(fields)
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    entries = list(AuditEntry.objects.filter(content_type=content_type, object_id__in=list(labels)))
    for entry in entries:
        entry.object_repr = labels[entry.object_id][:200]
        entry.changes = {
            key: (_erased(value) if key in fields else value)
            for key, value in entry.changes.items()
        }
    AuditEntry.objects.bulk_update(entries, ["object_repr", "changes"], batch_size=500)
    return len(entries)


def _erased(value: Any) -> Any:
    if isinstance(value, list):
        return [ERASED if v not in (None, "") else v for v in value]
    return ERASED if value not in (None, "") else value
