"""Households: found by address within a hamlet, merged when recorded twice."""

import uuid
from dataclasses import replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import ensure_can
from accounts.models import AuditEntry, User
from accounts.services import audit_entries_many, audit_entry, audit_snapshot
from communes.models import Hamlet
from core.names import either
from core.phone import clean_phone
from core.text import has_marks

from ..facts import HouseholdFacts
from ..models import Household, address_as_written, normalize_address
from .facts import facts_mark, facts_write, households_locked

# The fields the audit trail records of a household.
HOUSEHOLD_AUDITED = ("hamlet", "address_label", "head_name", "phone")


def household_at(*, hamlet: Hamlet | int, address_label: str) -> Household | None:
    """The hamlet's household at the address as typed, or None for a new one.

    An address typed with its tone marks is found only as written ("Số 5, ngõ Đồng" is
    not "Số 5, ngõ Đông"); one typed without any diacritic ("so 5 ngo dong") finds the one
    household whose address folds to it, and asks which when several do.
    """
    hamlet_id = hamlet if isinstance(hamlet, int) else hamlet.pk
    households = Household.objects.filter(hamlet_id=hamlet_id)
    found = households.filter(address_key=address_as_written(address_label)).first()
    if found is not None or has_marks(address_label):
        return found
    candidates = list(
        households.filter(address_folded=normalize_address(address_label)).order_by("pk")[:5]
    )
    if len(candidates) > 1:
        raise ValidationError(
            {
                "address_label": _(
                    "Which household: %(candidates)s? Type the address with its tone marks "
                    "or pick it from the list."
                )
                % {"candidates": either([h.address_label for h in candidates])}
            }
        )
    return candidates[0] if candidates else None


# What household_get_or_create is told when nobody looked the address up before it.
NOT_LOOKED_UP = object()


def household_get_or_create(
    *,
    by: User,
    hamlet: Hamlet,
    address_label: str,
    head_name: str = "",
    phone: str = "",
    consent: str = "",
    is_demo: bool = False,
    found: Household | None | object = NOT_LOOKED_UP,
    answers: dict[str, bool | None] | None = None,
) -> tuple[Household, bool]:
    """The household at this address of the hamlet, created if it is new.

    `consent` is the household's answer to the notice (Household.Consent.GIVEN from the
    visit form; empty where nobody asked, as for imports and demo data). A household
    that declines is never looked up or stored by its address: see household_declined.
    `found` is what household_at answered for this hamlet and address earlier in the
    same request (the visit form asks it to validate): None for a new address. A
    household added since is still found, by its uniqueness check or its insert.
    `answers`: the checklist a new household starts with (its first visit's), so that it
    is stored with them rather than changed by a second statement.
    """
    ensure_can(by, "outreach.view_household", hamlet)
    address_label = " ".join(address_label.split())
    if not normalize_address(address_label):
        raise ValidationError({"address_label": _("Enter the house number and alley.")})
    if found is NOT_LOOKED_UP:
        existing = household_at(hamlet=hamlet, address_label=address_label)
    else:
        existing = found
        if existing is not None and existing.hamlet_id != hamlet.pk:
            raise ValueError("The household found is not in the hamlet given.")
    if existing is not None:
        if consent and not existing.consent:  # recorded before consent was asked
            _consent_record(existing, consent, by)
            existing.save(update_fields=CONSENT_FIELDS)
        return existing, False
    ensure_can(by, "outreach.add_household", hamlet)
    phone = clean_phone(phone)
    household = Household(
        commune_id=hamlet.commune_id,
        hamlet=hamlet,
        address_label=address_label,
        head_name=" ".join(head_name.split()),
        phone=phone,
        created_by=by if by.pk else None,
        is_demo=is_demo,
        **(answers or {}),
    )
    if consent:
        _consent_record(household, consent, by)
    # Two leaders (or one leader's double tap) may add the same address at once: the
    # second finds the first's, whether its uniqueness check or its insert meets it.
    try:
        # The commune and the hamlet are rows the caller holds and the users the request's:
        # no existence query each.
        household.full_clean(exclude=["commune", "hamlet", "created_by", "consent_recorded_by"])
    except ValidationError:
        existing = household_at(hamlet=hamlet, address_label=address_label)
        if existing is None:
            raise
        return existing, False
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        return Household.objects.get(hamlet=hamlet, address_key=household.address_key), False
    audit_entry(
        by=by,
        action=AuditEntry.Action.CREATED,
        obj=household,
        commune_id=household.commune_id,
        after=audit_snapshot(household, HOUSEHOLD_AUDITED),
    )
    return household, True


CONSENT_FIELDS = ["consent", "consent_notice", "consent_recorded_by", "consent_recorded_at"]


def _consent_record(household: Household, consent: str, by: User) -> None:
    household.consent = consent
    household.consent_notice = settings.CONSENT_NOTICE_VERSION
    household.consent_recorded_by = by if by.pk else None
    household.consent_recorded_at = timezone.now()


@transaction.atomic
def household_declined(
    *,
    by: User,
    hamlet: Hamlet,
    is_demo: bool = False,
    answers: dict[str, bool | None] | None = None,
) -> Household:
    """A household that declined to be recorded: its hamlet and a number, nothing else.

    Its visit still counts (a visit, a household reached in the hamlet). Without an
    address it cannot be found again, so each such visit is a household of its own.
    """
    ensure_can(by, "outreach.add_household", hamlet)
    household = Household(
        commune_id=hamlet.commune_id,
        hamlet=hamlet,
        # Unique until the number is known, one statement later.
        address_label=f"~{uuid.uuid4().hex}",
        created_by=by if by.pk else None,
        is_demo=is_demo,
        **(answers or {}),
    )
    _consent_record(household, Household.Consent.DECLINED, by)
    household.save()
    household.address_label = f"#{household.pk}"
    household.save(update_fields=["address_label", "address_folded"])
    audit_entry(
        by=by,
        action=AuditEntry.Action.CREATED,
        obj=household,
        commune_id=household.commune_id,
        after={"hamlet": str(hamlet), "consent": household.consent},
    )
    return household


@transaction.atomic
def households_merge(*, by: User, keep: Household, remove: Household) -> Household:
    """Two records of one household: the visits of `remove` move to `keep`, then it goes.

    The first visit of the merged household may change, so every day either household
    was visited is marked for the roll-up.
    """
    if keep.pk == remove.pk:
        raise ValidationError(_("Choose two different households."))
    # Locked in id order, as every writer of a household's visits locks them: two
    # changes of the same households never wait on each other.
    locked_rows = Household.objects.select_for_update().filter(pk__in=[keep.pk, remove.pk])
    by_pk = {household.pk: household for household in locked_rows.order_by("pk")}
    keep, remove = by_pk[keep.pk], by_pk[remove.pk]
    for household in (keep, remove):
        ensure_can(by, "outreach.change_household", household)
    if keep.commune_id != remove.commune_id:
        raise ValidationError(_("Only households of the same commune can be merged."))
    locked = households_locked([keep.pk, remove.pk])
    moved = list(remove.visits.only("pk", "visited_on", "household_id"))
    # The moved visits are said again of the household they belong to: they count
    # where it is.
    remove.visits.update(household=keep, commune=keep.commune_id, hamlet=keep.hamlet_id)
    for visit in moved:
        visit.household = keep  # as the update just stored it: the entries name it so
    rows = [row for _commune, _answers, visits in locked.values() for row in visits]
    moved_ids = {visit.pk for visit in moved}
    changes = [
        HouseholdFacts(
            keep.pk,
            keep.commune_id,
            before=locked[keep.pk][2],
            # The moved rows as stored now, with the ranks they held.
            after=[
                replace(row, commune_id=keep.commune_id) if row.id in moved_ids else row
                for row in rows
            ],
        ),
        HouseholdFacts(remove.pk, remove.commune_id, before=locked[remove.pk][2], after=[]),
    ]
    cells = {(row.commune_id, row.day) for row in rows}
    audit_entries_many(
        by=by,
        action=AuditEntry.Action.CHANGED,
        objects=moved,
        # A visit's team is of its household's commune (visit_record checks it).
        commune_of=lambda _visit: keep.commune_id,
        changes_of=lambda _visit: {"household": [remove.address_label, keep.address_label]},
    )
    kept = audit_snapshot(keep, HOUSEHOLD_AUDITED)
    for field in ("head_name", "phone"):
        if not getattr(keep, field) and getattr(remove, field):
            setattr(keep, field, getattr(remove, field))
    keep.save(update_fields=["head_name", "phone"])
    audit_entry(
        by=by,
        action=AuditEntry.Action.CHANGED,
        obj=keep,
        commune_id=keep.commune_id,
        before=kept,
        after=audit_snapshot(keep, HOUSEHOLD_AUDITED),
    )
    audit_entry(
        by=by,
        action=AuditEntry.Action.DELETED,
        obj=remove,
        commune_id=remove.commune_id,
        before={**audit_snapshot(remove, HOUSEHOLD_AUDITED), "merged_into": str(keep)},
    )
    facts_write(changes, {pk: answers for pk, (_c, answers, _v) in locked.items()}, [keep])
    remove.delete()
    # Every day of either household: the moved visits count in keep's hamlet now.
    facts_mark(changes, *cells)
    return keep
