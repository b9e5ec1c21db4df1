"""Teams, their members, and team leaders' logins."""

import secrets
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.access import ensure_can
from accounts.models import AuditEntry, ScopeLevel, User
from accounts.services import (
    audit_entries_created,
    audit_entry,
    audit_snapshot,
    user_create,
    user_role_sync,
)
from communes.models import Commune, Hamlet
from core.marks import ChangeSource, mark_changed
from core.names import name_taken
from core.phone import clean_phone
from core.signals import bulk_written

from ..models import Member, Team

TEAM_FIELDS = ("name", "hamlet", "formed_on", "dissolved_on")
MEMBER_FIELDS = (
    "full_name",
    "gender",
    "birth_year",
    "phone",
    "role",
    "is_youth_union_member",
    "affiliation",
    "on_zalo_oa",
    "zalo_joined_on",
    "joined_on",
)


# The fields the audit trail records of a team and of a member.
TEAM_AUDITED = ("name", "hamlet", "formed_on", "dissolved_on")
MEMBER_AUDITED = (*MEMBER_FIELDS, "team", "is_active", "left_on", "user")
Action = AuditEntry.Action


def _team_days(team: Team) -> set[tuple[int, date]]:
    return {(team.commune_id, d) for d in (team.formed_on, team.dissolved_on) if d}


def _member_days(member: Member, commune_id: int) -> set[tuple[int, date]]:
    days = (member.joined_on, member.left_on, member.zalo_joined_on)
    return {(commune_id, d) for d in days if d}


def _check_hamlet(hamlet: Hamlet | None, commune_id: int) -> None:
    if hamlet is not None and hamlet.commune_id != commune_id:
        raise ValidationError({"hamlet": _("Choose a hamlet of the team's commune.")})


def _check_name_free(team: Team) -> None:
    """A name typed without diacritics for a team the commune has is that team again."""
    others = Team.objects.filter(commune_id=team.commune_id).exclude(pk=team.pk)
    if team.name and name_taken(others, team.name):
        raise ValidationError({"name": _("This commune already has a team with this name.")})


@transaction.atomic
def team_create(
    *,
    by: User,
    commune: Commune,
    name: str,
    formed_on: date,
    hamlet: Hamlet | None = None,
    is_demo: bool = False,
) -> Team:
    ensure_can(by, "outreach.add_team", commune)
    _check_hamlet(hamlet, commune.pk)
    team = Team(commune=commune, hamlet=hamlet, name=name.strip(), formed_on=formed_on)
    team.is_demo = is_demo
    _check_name_free(team)
    team.full_clean()
    team.save()
    audit_entry(
        by=by,
        action=Action.CREATED,
        obj=team,
        commune_id=team.commune_id,
        after=audit_snapshot(team, TEAM_AUDITED),
    )
    mark_changed(source=ChangeSource.ROSTER, commune_days=_team_days(team))
    return team


@transaction.atomic
def team_update(*, by: User, team: Team, **changes) -> Team:
    """Change a team's name, hamlet or dates; only the given fields are written."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    ensure_can(by, "outreach.change_team", team)
    unknown = set(changes) - set(TEAM_FIELDS)
    if unknown:
        raise TypeError(f"team_update does not change {sorted(unknown)}")
    before = _team_days(team)
    audited = audit_snapshot(team, TEAM_AUDITED)
    for field, value in changes.items():
        setattr(team, field, value.strip() if field == "name" else value)
    _check_hamlet(team.hamlet, team.commune_id)
    if "name" in changes:
        _check_name_free(team)
    team.full_clean()
    team.save(update_fields=list(changes))
    audit_entry(
        by=by,
        action=Action.CHANGED,
        obj=team,
        commune_id=team.commune_id,
        before=audited,
        after=audit_snapshot(team, TEAM_AUDITED),
    )
    mark_changed(source=ChangeSource.ROSTER, commune_days=before | _team_days(team))
    return team


@transaction.atomic
def team_dissolve(
    *, by: User, team: Team, dissolved_on: date, members_to: Team | None = None
) -> Team:
    """Dissolve a team; nobody stays active in it.

    Its active members move to `members_to` (another active team of the commune) or,
    without one, leave on the day the team is dissolved. A leader's login loses the team
    either way: a leader who leaves can no longer log in; one who moves leads the other
    team if it has no leader, and otherwise becomes a member, whose login stops working.
    """
    # Both teams locked in one order: two officials dissolving each team into the other
    # wait for each other instead of deadlocking.
    ids = [team.pk] if members_to is None else [team.pk, members_to.pk]
    locked = {t.pk: t for t in Team.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    team = locked[team.pk]
    ensure_can(by, "outreach.change_member", team)
    if not team.is_active:
        raise ValidationError({"dissolved_on": _("This team is already dissolved.")})
    if members_to is not None:
        members_to = locked[members_to.pk]
        if (
            members_to.pk == team.pk
            or members_to.commune_id != team.commune_id
            or not members_to.is_active
        ):
            raise ValidationError(
                {"members_to": _("Choose another active team of the same commune.")}
            )
        ensure_can(by, "outreach.change_member", members_to)
    members = list(
        Member.objects.select_for_update().filter(team=team, is_active=True).order_by("pk")
    )
    team = team_update(by=by, team=team, dissolved_on=dissolved_on)
    late = [m.full_name for m in members if m.joined_on > dissolved_on]
    if members_to is None and late:
        # They cannot leave before they joined: the day, or their joining day, is wrong.
        raise ValidationError(
            {
                "dissolved_on": _("%(names)s joined the team after this day.")
                % {"names": ", ".join(late)}
            }
        )
    for member in members:
        # The team as loaded: the audit trail names it without a query per member.
        member.team = team
    if members_to is None:
        _members_leave(by, members, dissolved_on)
    else:
        _members_move(by, members, members_to)
    return team


def _member_leaves(by: User, member: Member, left_on: date) -> None:
    """The member's leaving, with its audit entry; their login and the figures are the
    caller's to follow."""
    audited = audit_snapshot(member, MEMBER_AUDITED)
    member.is_active = False
    member.left_on = left_on
    member.full_clean()
    member.save(update_fields=["is_active", "left_on"])
    _member_changed(by, member, audited)


def _members_leave(by: User, members: list[Member], left_on: date) -> None:
    """Every member leaves on one day, as member_deactivate records it."""
    for member in members:
        _member_leaves(by, member, left_on)
    User.objects.filter(pk__in=[m.user_id for m in members if m.user_id]).update(is_active=False)
    mark_changed(
        source=ChangeSource.ROSTER, commune_days={(m.team.commune_id, left_on) for m in members}
    )


def _members_move(by: User, members: list[Member], members_to: Team) -> None:
    """Every member moves to another team of the commune, as member_update moves one.

    The figures count members by commune, which a move within the commune does not
    change: no bucket to mark.
    """
    has_leader = Member.objects.filter(
        team=members_to, role=Member.Role.LEADER, is_active=True
    ).exists()
    for member in members:
        audited = audit_snapshot(member, MEMBER_AUDITED)
        member.team = members_to
        fields = ["team"]
        if member.role == Member.Role.LEADER and has_leader:
            member.role = Member.Role.MEMBER
            fields.append("role")
        _validate_member(member)
        member.save(update_fields=fields)
        _member_changed(by, member, audited)
        if member.user_id and "role" in fields:
            _login_follow_role(member)


def _validate_member(member: Member) -> None:
    """full_clean() plus the rules whose message must name the field."""
    errors = {}
    if member.is_active and member.role == Member.Role.LEADER:
        other_leader = (
            Member.objects.filter(team_id=member.team_id, role=Member.Role.LEADER, is_active=True)
            .exclude(pk=member.pk)
            .exists()
        )
        if other_leader:
            errors["role"] = _("This team already has an active leader.")
    if member.is_active and member.phone:
        taken = (
            Member.objects.filter(phone=member.phone, is_active=True).exclude(pk=member.pk).exists()
        )
        if taken:
            errors["phone"] = _("This phone number belongs to another active member.")
    if member.zalo_joined_on and not member.on_zalo_oa:
        member.on_zalo_oa = True
    if errors:
        raise ValidationError(errors)
    member.full_clean()


def _member_changed(by: User, member: Member, before: dict) -> None:
    """The audit entry of a change to a member: the fields that differ from `before`."""
    audit_entry(
        by=by,
        action=Action.CHANGED,
        obj=member,
        commune_id=member.team.commune_id,
        before=before,
        after=audit_snapshot(member, MEMBER_AUDITED),
    )


@transaction.atomic
def member_create(*, by: User, team: Team, is_demo: bool = False, **fields) -> Member:
    """Add a member to a team. `fields` are those of MEMBER_FIELDS."""
    ensure_can(by, "outreach.add_member", team)
    unknown = set(fields) - set(MEMBER_FIELDS)
    if unknown:
        raise TypeError(f"member_create does not take {sorted(unknown)}")
    fields["phone"] = clean_phone(fields.get("phone", ""))
    fields["full_name"] = " ".join(fields.get("full_name", "").split())
    member = Member(team=team, is_demo=is_demo, **fields)
    _validate_member(member)
    member.save()
    audit_entry(
        by=by,
        action=Action.CREATED,
        obj=member,
        commune_id=team.commune_id,
        after=audit_snapshot(member, MEMBER_AUDITED),
    )
    mark_changed(source=ChangeSource.ROSTER, commune_days=_member_days(member, team.commune_id))
    return member


class EntryInvalid(ValidationError):
    """A ValidationError of one entry of a batch; `index` says which."""

    def __init__(self, index: int, error: ValidationError):
        super().__init__(error.error_dict if hasattr(error, "error_dict") else error.messages)
        self.index = index


# Rows per INSERT of a batch: large enough to save the round trips, small enough to keep
# the statement's parameters well under Postgres's limit of 65,535.
MEMBER_BATCH = 1_000


@transaction.atomic
def member_create_many(*, by: User, entries: list[tuple[Team, dict]]) -> list[Member]:
    """Add many members at once (an import's new rows) under member_create's rules.

    The rules that need the database (one active leader a team, a phone number for one
    active member) are checked for the whole batch in two queries, against the stored
    members and within the batch; the rest run per member in Python; the inserts go in
    batches, with one mark for all their days. The database's constraints stay the final
    word. Raises EntryInvalid naming the first entry that breaks a rule.
    """
    checked: set[int] = set()
    members = []
    for index, (team, fields) in enumerate(entries):
        if team.pk not in checked:
            ensure_can(by, "outreach.add_member", team)
            checked.add(team.pk)
        unknown = set(fields) - set(MEMBER_FIELDS)
        if unknown:
            raise TypeError(f"member_create_many does not take {sorted(unknown)}")
        try:
            fields = {
                **fields,
                "phone": clean_phone(fields.get("phone", "")),
                "full_name": " ".join(fields.get("full_name", "").split()),
            }
            member = Member(team=team, **fields)
            if member.zalo_joined_on and not member.on_zalo_oa:
                member.on_zalo_oa = True
            # The team is a saved object and the unique rules are checked below for the
            # batch at once. The check constraints (left on only when inactive, the Zalo
            # date only when joined) hold by construction for a new active member, and
            # checking them here would cost a query each.
            member.full_clean(exclude=["team"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise EntryInvalid(index, exc) from exc
        member.derive()
        members.append(member)
    _check_batch_rules(members)
    created = []
    for start in range(0, len(members), MEMBER_BATCH):
        created += Member.objects.bulk_create(members[start : start + MEMBER_BATCH])
    # bulk_create sends no post_save: what is cached of members is renewed by this.
    bulk_written.send(sender=Member)
    audit_entries_created(
        by=by,
        objects=created,
        fields=MEMBER_AUDITED,
        commune_of=lambda member: member.team.commune_id,
    )
    days = set()
    for member in created:
        days |= _member_days(member, member.team.commune_id)
    mark_changed(source=ChangeSource.ROSTER, commune_days=days)
    return created


def _check_batch_rules(members: list[Member]) -> None:
    """The unique rules of _validate_member, for a batch of new members."""
    leaders = [
        (i, m) for i, m in enumerate(members) if m.is_active and m.role == Member.Role.LEADER
    ]
    led = set(
        Member.objects.filter(
            team_id__in={m.team_id for _i, m in leaders}, role=Member.Role.LEADER, is_active=True
        ).values_list("team_id", flat=True)
    )
    for index, member in leaders:
        if member.team_id in led:
            raise EntryInvalid(
                index, ValidationError({"role": _("This team already has an active leader.")})
            )
        led.add(member.team_id)
    phoned = [(i, m) for i, m in enumerate(members) if m.is_active and m.phone]
    taken = set(
        Member.objects.filter(phone__in={m.phone for _i, m in phoned}, is_active=True).values_list(
            "phone", flat=True
        )
    )
    for index, member in phoned:
        if member.phone in taken:
            raise EntryInvalid(
                index,
                ValidationError(
                    {"phone": _("This phone number belongs to another active member.")}
                ),
            )
        taken.add(member.phone)


@transaction.atomic
def member_update(*, by: User, member: Member, team: Team | None = None, **changes) -> Member:
    """Change a member's details, or move them to another team of the user's scope."""
    member = Member.objects.select_for_update().select_related("team").get(pk=member.pk)
    ensure_can(by, "outreach.change_member", member)
    unknown = set(changes) - set(MEMBER_FIELDS)
    if unknown:
        raise TypeError(f"member_update does not change {sorted(unknown)}")
    if member.user_id == by.pk and changes.get("role", member.role) != member.role:
        raise ValidationError({"role": _("Ask your commune official to change your own role.")})
    before = _member_days(member, member.team.commune_id)
    audited = audit_snapshot(member, MEMBER_AUDITED)
    if "phone" in changes:
        changes["phone"] = clean_phone(changes["phone"])
    if "full_name" in changes:
        changes["full_name"] = " ".join(changes["full_name"].split())
    for field, value in changes.items():
        setattr(member, field, value)
    update_fields = list(changes)
    if team is not None and team.pk != member.team_id:
        ensure_can(by, "outreach.change_member", team)
        member.team = team
        update_fields.append("team")
    if "zalo_joined_on" in changes:
        update_fields.append("on_zalo_oa")
    _validate_member(member)
    member.save(update_fields=update_fields)
    _member_changed(by, member, audited)
    after = _member_days(member, member.team.commune_id)
    mark_changed(source=ChangeSource.ROSTER, commune_days=before | after)
    if member.user_id and "role" in changes:
        _login_follow_role(member)
    return member


@transaction.atomic
def member_deactivate(*, by: User, member: Member, left_on: date) -> Member:
    """A member leaves the team: kept for the history, no longer counted or able to log in."""
    member = Member.objects.select_for_update().select_related("team").get(pk=member.pk)
    ensure_can(by, "outreach.change_member", member)
    if not member.is_active:
        return member
    if member.user_id == by.pk:
        raise ValidationError(_("Ask your commune official to record that you left the team."))
    _member_leaves(by, member, left_on)
    if member.user_id:
        User.objects.filter(pk=member.user_id).update(is_active=False)
    mark_changed(
        source=ChangeSource.ROSTER, commune_days=_member_days(member, member.team.commune_id)
    )
    return member


def _login_follow_role(member: Member) -> None:
    """Only an active leader's login works; a leader who steps down loses it."""
    is_leader = member.is_active and member.role == Member.Role.LEADER
    User.objects.filter(pk=member.user_id).update(is_active=is_leader)


@transaction.atomic
def member_login_create(*, by: User, member: Member) -> tuple[User, str]:
    """Give a team leader a login named by their phone number; returns it and its password.

    Only commune officials (and admins) create logins. The password is shown once.
    """
    member = Member.objects.select_for_update().select_related("team").get(pk=member.pk)
    ensure_can(by, "outreach.change_team", member.team)
    if member.role != Member.Role.LEADER or not member.is_active:
        raise ValidationError(_("Only an active team leader gets a login."))
    if not member.phone:
        raise ValidationError({"phone": _("The leader needs a phone number to log in with.")})
    if member.user_id:
        raise ValidationError(_("This leader already has a login."))
    if User.objects.filter(username=member.phone).exists():
        raise ValidationError({"phone": _("Another login already uses this phone number.")})
    password = _new_password()
    user = user_create(
        username=member.phone,
        password=password,
        full_name=member.full_name,
        scope_level=ScopeLevel.TEAM,
        is_demo=member.is_demo,
    )
    audited = audit_snapshot(member, MEMBER_AUDITED)
    member.user = user
    member.save(update_fields=["user"])
    _member_changed(by, member, audited)
    user_role_sync(user=user)
    return user, password


@transaction.atomic
def member_login_password_reset(*, by: User, member: Member) -> str:
    """A new password for a leader's login, to be handed over in person."""
    member = Member.objects.select_related("team", "user").get(pk=member.pk)
    ensure_can(by, "outreach.change_team", member.team)
    if member.user is None:
        raise ValidationError(_("This member has no login."))
    password = _new_password()
    member.user.set_password(password)
    member.user.save(update_fields=["password"])
    return password


def _new_password() -> str:
    # Easy to read aloud and type on a phone: three groups of four lower-case letters
    # and digits, without look-alikes (about 59 bits).
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
