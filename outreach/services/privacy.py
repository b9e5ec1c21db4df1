"""Personal data: erasure on request, and anonymisation of households no longer visited.

What erasing keeps: the record itself, its place (hamlet, team, commune), its dates and
its visits, so every figure stays as it was. What it removes, from the record, its
visits' notes and the audit trail: names, phone numbers, addresses, years of birth,
the login. The record is then labelled by its number ("#1234"), which identifies no one.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import ensure_can
from accounts.models import AuditEntry, User
from accounts.services import audit_entry, audit_scrub, audit_scrub_many
from core.signals import personal_data_erased

from ..models import Household, Member, Visit

# Only a data officer (or an admin) erases; the retention job acts as the portal (None).
ERASE_PERMISSION = "accounts.erase_personal_data"
ERASE_REFUSAL = gettext_lazy("Only a personal data officer can erase personal data.")
HOUSEHOLD_PERSONAL = ("address_label", "head_name", "phone")
MEMBER_PERSONAL = ("full_name", "phone", "birth_year", "gender", "user")


def erased_label(pk: int) -> str:
    return f"#{pk}"


def _scrub_visit_notes_and_trail(household: Household, label: str) -> None:
    """The visits' notes go, and from their audit trail the address and the notes; each
    entry is then named as the visit now reads (the household's label and the day)."""
    visits = Visit.objects.filter(household=household)
    visits.exclude(notes="").update(notes="")
    audit_scrub_many(
        model=Visit,
        labels={
            pk: f"{label} {day:%d/%m/%Y}" for pk, day in visits.values_list("pk", "visited_on")
        },
        fields=("household", "notes"),
    )


@transaction.atomic
def household_erase(*, by: User | None, household: Household) -> Household:
    """Remove a household's personal data; its visits and the figures stay."""
    ensure_can(by, ERASE_PERMISSION, household, refusal=ERASE_REFUSAL)
    household = Household.objects.select_for_update().get(pk=household.pk)
    if household.personal_data_erased_at:
        return household
    label = erased_label(household.pk)
    household.address_label = label
    household.head_name = ""
    household.phone = ""
    household.personal_data_erased_at = timezone.now()
    household.save(update_fields=["address_label", "head_name", "phone", "personal_data_erased_at"])
    _scrub_visit_notes_and_trail(household, label)
    audit_scrub(obj=household, fields=HOUSEHOLD_PERSONAL, label=label)
    audit_entry(
        by=by, action=AuditEntry.Action.ERASED, obj=household, commune_id=household.commune_id
    )
    return household


@transaction.atomic
def member_erase(*, by: User | None, member: Member) -> Member:
    """Remove a former member's personal data; their team, dates and visits stay."""
    ensure_can(by, ERASE_PERMISSION, member, refusal=ERASE_REFUSAL)
    member = Member.objects.select_for_update().select_related("team").get(pk=member.pk)
    if member.personal_data_erased_at:
        return member
    if member.is_active:
        raise ValidationError(
            _("Record that the member left the team first: an active member keeps a name.")
        )
    label = erased_label(member.pk)
    if member.user_id:
        login = User.objects.get(pk=member.user_id)
        login.username = f"erased-{member.pk}"
        login.full_name = ""
        login.email = ""
        login.is_active = False
        login.set_unusable_password()
        login.save(update_fields=["username", "full_name", "email", "is_active", "password"])
    member.full_name = label
    member.phone = ""
    member.birth_year = None
    member.gender = ""
    member.personal_data_erased_at = timezone.now()
    member.save(
        update_fields=[
            "full_name",
            "full_name_folded",
            "phone",
            "birth_year",
            "gender",
            "personal_data_erased_at",
        ]
    )
    audit_scrub(obj=member, fields=MEMBER_PERSONAL, label=label)
    personal_data_erased.send(sender=Member, instance=member, by=by)
    audit_entry(
        by=by, action=AuditEntry.Action.ERASED, obj=member, commune_id=member.team.commune_id
    )
    return member


def households_retention(*, now=None, years: int | None = None, batch: int = 500) -> int:
    """Anonymise the households nobody has visited for `years` (settings by default).

    A household never visited counts from when it was recorded. Each batch is its own
    transaction, so a long first run commits as it goes and a failure loses none.
    """
    years = settings.HOUSEHOLD_RETENTION_YEARS if years is None else years
    now = now or timezone.now()
    cutoff = now - timedelta(days=round(365.25 * years))
    stale = (
        Household.objects.filter(personal_data_erased_at__isnull=True)
        .annotate(last_seen=Coalesce(Max("visits__created_at"), "created_at"))
        .filter(Q(last_seen__lt=cutoff))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    erased = 0
    while True:
        ids = list(stale[:batch])
        if not ids:
            return erased
        for household in Household.objects.filter(pk__in=ids):
            household_erase(by=None, household=household)
            erased += 1
