"""Door-to-door visits: recorded once per submission, edited for 7 days, every change kept."""

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import ensure_can
from accounts.models import AuditEntry, User
from accounts.services import audit_entry
from communes.models import Hamlet

from ..facts import UNSAVED, HouseholdFacts
from ..models import READINESS_FIELDS, Household, Member, Service, Team, Visit
from .facts import (
    facts_mark,
    facts_write,
    households_locked,
    member_days_add,
    member_days_refresh,
    visit_row,
)
from .households import NOT_LOOKED_UP, household_declined, household_get_or_create

# How long a leader may change or delete a visit they entered (the visit rule in .access).
EDIT_WINDOW = timedelta(days=7)


class VisitConflict(Exception):
    """The submission id is already used by a different visit or another team (HTTP 409)."""

    def __init__(self, visit: Visit | None = None):
        super().__init__(_("This submission was already used for a different visit."))
        self.visit = visit


@dataclass(frozen=True)
class OutcomeRule:
    """What a visit's outcome says of its other answers.

    `helped`: True, at least one resident was helped with at least one service; False,
    nobody and nothing; None, either (informing a household may or may not end in
    hands-on help). `answered`: whether anyone was there to answer the readiness
    checklist (a household that declined help may still say what it already uses).
    """

    helped: bool | None
    answered: bool = True


# The one statement of the outcomes' rules: the visit form, the services (and so every
# import or other writer) and the demo and benchmark data all follow it.
OUTCOME_RULES = {
    Visit.Outcome.HELPED: OutcomeRule(helped=True),
    Visit.Outcome.INFORMED: OutcomeRule(helped=None),
    Visit.Outcome.NOT_HOME: OutcomeRule(helped=False, answered=False),
    Visit.Outcome.DECLINED: OutcomeRule(helped=False),
}


# What a visit says that its outcome contradicts, by the field that says it and what the
# outcome expects of it (True: some, False: none).
_CONTRADICTIONS = {
    ("residents_helped", True): gettext_lazy(
        "“%(outcome)s” means at least one resident was helped: enter how many, or choose "
        "another outcome."
    ),
    ("residents_helped", False): gettext_lazy(
        "“%(outcome)s” means no resident was helped: enter 0, or choose another outcome."
    ),
    ("services", True): gettext_lazy(
        "“%(outcome)s” means you helped with something: tick what, or choose another outcome."
    ),
    ("services", False): gettext_lazy(
        "“%(outcome)s” means you helped with nothing: untick these, or choose another outcome."
    ),
    ("readiness", False): gettext_lazy(
        "“%(outcome)s” means nobody could answer: leave “Not asked”, or choose another outcome."
    ),
}


def visit_outcome_errors(
    *,
    outcome: str,
    residents_helped: int,
    services: Sequence[Service],
    readiness: Mapping[str, bool | None],
) -> dict[str, str]:
    """What contradicts the outcome, by the field that says it (none for an outcome that
    is not one of the choices: the field's own validation refuses it)."""
    rule = OUTCOME_RULES.get(outcome)
    if rule is None:
        return {}
    broken = {}
    if rule.helped is not None:
        for name, some in (
            ("residents_helped", residents_helped > 0),
            ("services", bool(services)),
        ):
            if some != rule.helped:
                broken[name] = _CONTRADICTIONS[name, rule.helped]
    if not rule.answered:
        for item in READINESS_FIELDS:
            if readiness.get(item) is not None:
                broken[item] = _CONTRADICTIONS["readiness", False]
    named = {"outcome": Visit.Outcome(outcome).label}
    return {name: str(message) % named for name, message in broken.items()}


@dataclass
class VisitData:
    """What a visit says, as the form (or an import) hands it over."""

    visited_on: date
    members: list[Member]
    services: list[Service] = field(default_factory=list)
    residents_helped: int = 0
    # A writer that states no outcome claims the least: informing the household, which
    # the other defaults (nobody helped, no service) do not contradict.
    outcome: str = Visit.Outcome.INFORMED
    notes: str = ""
    readiness: dict[str, bool | None] = field(default_factory=dict)

    def digest(self, team: Team, hamlet: Hamlet, address_label: str) -> str:
        """A fingerprint of the submission, to tell a resend from a different visit."""
        from ..models import normalize_address

        canonical = {
            "team": team.pk,
            "hamlet": hamlet.pk,
            "address": normalize_address(address_label),
            "visited_on": self.visited_on.isoformat(),
            "members": sorted(m.pk for m in self.members),
            "services": sorted(s.pk for s in self.services),
            "residents_helped": self.residents_helped,
            "outcome": self.outcome,
            "notes": self.notes.strip(),
            "readiness": {f: self.readiness.get(f) for f in READINESS_FIELDS},
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _validate(
    team: Team,
    household: Household,
    data: VisitData,
    already_on_visit: frozenset[int] = frozenset(),
) -> None:
    """The visit's rules, its outcome's among them (an edit must keep them, whatever the
    visit said before); members who went on it before they left stay valid on an edit."""
    errors = {}
    today = timezone.localdate()
    if data.visited_on > today:
        errors["visited_on"] = _("A visit cannot be in the future.")
    elif data.visited_on < team.formed_on:
        errors["visited_on"] = _("The team was formed on %(day)s, after this day.") % {
            "day": team.formed_on.strftime("%d/%m/%Y")
        }
    if household.commune_id != team.commune_id:
        errors["household"] = _("Choose a household of the team's commune.")
    if not data.members:
        errors["members"] = _("Choose who went.")
    elif any(
        m.team_id != team.pk or not (m.is_active or m.pk in already_on_visit) for m in data.members
    ):
        errors["members"] = _("Choose active members of your team.")
    if any(not s.is_active for s in data.services):
        errors["services"] = _("Choose services from the catalogue.")
    unknown = set(data.readiness) - set(READINESS_FIELDS)
    if unknown:
        raise TypeError(f"unknown readiness items {sorted(unknown)}")
    contradictions = visit_outcome_errors(
        outcome=data.outcome,
        residents_helped=data.residents_helped,
        services=data.services,
        readiness=data.readiness,
    )
    errors = {**contradictions, **errors}
    if errors:
        raise ValidationError(errors)


def _snapshot(visit: Visit, data: VisitData | None = None) -> dict:
    """The visit's content as the audit trail records it; `data`: what was just written,
    so that its members and services need not be read back."""
    members = [m.pk for m in data.members] if data else visit.members.values_list("pk", flat=True)
    services = (
        [s.code for s in data.services] if data else visit.services.values_list("code", flat=True)
    )
    return {
        "team": visit.team_id,
        "household": visit.household.address_label,
        "hamlet": visit.household.hamlet_id,
        "visited_on": visit.visited_on.isoformat(),
        "members": sorted(members),
        "services": sorted(services),
        "residents_helped": visit.residents_helped,
        "outcome": visit.outcome,
        "notes": visit.notes,
        **{f: getattr(visit, f) for f in READINESS_FIELDS},
    }


def _audit(visit: Visit, by: User, action: str, before: dict | None, after: dict | None):
    """The visit's entry in the audit trail: a change keeps only what changed, a creation
    or deletion the whole content (`_snapshot`)."""
    audit_entry(
        by=by,
        action=action,
        obj=visit,
        commune_id=visit.team.commune_id,
        before=before,
        after=after,
    )


def _apply(visit: Visit, data: VisitData) -> None:
    visit.visited_on = data.visited_on
    visit.residents_helped = data.residents_helped
    visit.outcome = data.outcome
    visit.notes = data.notes.strip()
    for item in READINESS_FIELDS:
        setattr(visit, item, data.readiness.get(item))


def _place(visit: Visit, household: Household) -> None:
    """The visit counts where its household is as it is written (a write-time fact)."""
    visit.household = household
    visit.commune_id = household.commune_id
    visit.hamlet_id = household.hamlet_id


# Facts and foreign keys the service sets itself from rows it has just read or written:
# their existence needs no query each (the submission id is checked by the service).
NOT_CLEANED = ["submission_id", "team", "household", "created_by", "commune", "hamlet"]


def visit_record(
    *,
    by: User,
    team: Team,
    submission_id: uuid.UUID,
    hamlet: Hamlet,
    address_label: str,
    data: VisitData,
    head_name: str = "",
    household_phone: str = "",
    consent: str = "",
    is_demo: bool = False,
    household_found: Household | None | object = NOT_LOOKED_UP,
) -> tuple[Visit, bool]:
    """Store a visit once per submission id; returns it and whether it is new.

    `household_found`: what the form's own lookup of the address found (None: a new
    address), so that it is not looked up twice; see household_get_or_create.

    `consent` is a new household's answer to the notice; one that declined is stored
    with its hamlet only (no address, name or phone). A double tap or a resend of the
    same submission returns the visit stored the first time. The same id with different
    content, or from another team, is a VisitConflict and changes nothing.
    """
    ensure_can(by, "outreach.add_visit", team)
    declined = consent == Household.Consent.DECLINED
    if declined:
        address_label = head_name = household_phone = ""
    digest = data.digest(team, hamlet, address_label)
    # A resend is told by the submission id's uniqueness when the visit is inserted, not
    # by asking first: one query less for every visit, a few more for a resend.
    try:
        with transaction.atomic():
            # A new household starts with this visit's answers.
            answers = {item: data.readiness.get(item) for item in READINESS_FIELDS}
            if declined:
                household = household_declined(
                    by=by, hamlet=hamlet, is_demo=is_demo, answers=answers
                )
                household_new = True
            else:
                household, household_new = household_get_or_create(
                    by=by,
                    hamlet=hamlet,
                    address_label=address_label,
                    head_name=head_name,
                    phone=household_phone,
                    consent=consent,
                    is_demo=is_demo,
                    found=household_found,
                    answers=answers,
                )
            _validate(team, household, data)
            visit = Visit(
                team=team,
                submission_id=submission_id,
                submission_digest=digest,
                created_by=by if by.pk else None,
                is_demo=is_demo,
            )
            _place(visit, household)
            _apply(visit, data)
            visit.full_clean(exclude=NOT_CLEANED)
            # A household created by this visit has no other visit to rank with.
            commune_id, answers, rows = (
                (household.commune_id, answers, [])
                if household_new
                else households_locked([household.pk])[household.pk]
            )
            facts = HouseholdFacts(
                household.pk,
                commune_id,
                before=rows,
                after=[*rows, visit_row(visit, UNSAVED)],
                writing=frozenset({UNSAVED}),
            )
            visit.first_for_household, visit.first_for_team = facts.ranks[UNSAVED]
            visit.save()
            # A new visit has no members or services yet: add, without reading them first.
            visit.members.add(*data.members)
            visit.services.add(*data.services)
            _audit(visit, by, AuditEntry.Action.CREATED, None, _snapshot(visit, data))
            facts_write([facts], {household.pk: answers}, [household])
            member_days_add(visit.commune_id, visit.visited_on, [m.pk for m in data.members])
            facts_mark([facts])
    except (IntegrityError, ValidationError):
        # The same submission stored before (a resend, perhaps after its members left
        # the team) or by a concurrent request: what was stored then is the answer.
        existing = _existing(submission_id, team, digest)
        if existing is None:
            raise
        return existing, False
    return visit, True


def _existing(submission_id: uuid.UUID, team: Team, digest: str) -> Visit | None:
    visit = Visit.objects.filter(submission_id=submission_id).first()
    if visit is None:
        return None
    if visit.team_id != team.pk or visit.submission_digest != digest:
        # Never hand another team's visit back: the conflict carries it only for its own.
        raise VisitConflict(visit if visit.team_id == team.pk else None)
    return visit


def _household_changes(visit: Visit, locked: dict, *, to: Household | None) -> list[HouseholdFacts]:
    """What moving `visit` out of the locked households' visits, and into `to`'s as it
    now is (None: deleted), does to their facts."""
    changes = []
    for household_id, (commune_id, _answers, rows) in locked.items():
        after = [row for row in rows if row.id != visit.pk]
        if to is not None and household_id == to.pk:
            after.append(visit_row(visit))
        changes.append(
            HouseholdFacts(household_id, commune_id, rows, after, writing=frozenset({visit.pk}))
        )
    return changes


@transaction.atomic
def visit_update(
    *, by: User, visit: Visit, hamlet: Hamlet, address_label: str, data: VisitData
) -> Visit:
    """Change a visit, possibly to another day or household; the change is recorded."""
    visit = Visit.objects.select_for_update().select_related("team", "household").get(pk=visit.pk)
    ensure_can(by, "outreach.change_visit", visit)
    before_snapshot = _snapshot(visit)
    old_household, old_cell = visit.household, (visit.commune_id, visit.visited_on)
    old_members = frozenset(visit.members.values_list("pk", flat=True))
    household, _created = household_get_or_create(by=by, hamlet=hamlet, address_label=address_label)
    _validate(visit.team, household, data, old_members)
    locked = households_locked({old_household.pk, household.pk})
    _place(visit, household)
    _apply(visit, data)
    changes = _household_changes(visit, locked, to=household)
    ranks = next(change.ranks for change in changes if change.household_id == household.pk)
    visit.first_for_household, visit.first_for_team = ranks[visit.pk]
    # Its place is its household's, just read; the rest is checked as any visit's.
    visit.full_clean(exclude=["submission_id", "commune", "hamlet"])
    visit.save()
    visit.members.set(data.members)
    visit.services.set(data.services)
    after_snapshot = _snapshot(visit)
    if after_snapshot != before_snapshot:
        _audit(visit, by, AuditEntry.Action.CHANGED, before_snapshot, after_snapshot)
    answers = {pk: stored for pk, (_commune, stored, _rows) in locked.items()}
    facts_write(changes, answers, [old_household, household])
    member_days_refresh(old_members | {m.pk for m in data.members}, {old_cell[1], visit.visited_on})
    facts_mark(changes, old_cell, (visit.commune_id, visit.visited_on))
    return visit


@transaction.atomic
def visit_delete(*, by: User, visit: Visit) -> None:
    visit = Visit.objects.select_for_update().select_related("team", "household").get(pk=visit.pk)
    ensure_can(by, "outreach.delete_visit", visit)
    household = visit.household
    members = set(visit.members.values_list("pk", flat=True))
    locked = households_locked([household.pk])
    changes = _household_changes(visit, locked, to=None)
    _audit(visit, by, AuditEntry.Action.DELETED, _snapshot(visit), None)
    visit.delete()
    facts_write(changes, {household.pk: locked[household.pk][1]}, [household])
    member_days_refresh(members, {visit.visited_on})
    facts_mark(changes)
