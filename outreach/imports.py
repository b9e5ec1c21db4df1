"""Bulk import of teams and members from the lists provinces keep (XLSX or CSV).

One row per member: the commune (official code or full name), the team's name and the
member's details, under a header row that may have title rows above it. Headers are
recognised in Vietnamese or English, whatever their case and accents.

An import runs in two steps, each in a Celery task (outreach/tasks.py) so that a list of
16,000 rows never holds a web request:

- check: read the file and validate every row against the rules the services apply,
  then describe what would be created and updated. It writes nothing but the import's
  own status, so a file with one bad row leaves the database as it was.
- apply: check again (the database may have changed since), then, in one transaction,
  call team_create, team_update, member_update and, when asked, member_login_create for
  each change, and member_create_many for the new members (member_create's rules, in
  batches): the same rules as the forms, all or nothing.

A member is the same person as a row when, within the row's team, they have the row's
phone number or, for a row without a phone, the row's full name. Empty cells leave what
the portal holds as it is, so re-importing a file (or an export) changes nothing.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.scopes import scope_for
from communes.models import Commune, Hamlet, code_typed
from core import file_imports
from core.file_imports import (
    HEADER_SEARCH_ROWS,  # noqa: F401 (part of this module's interface)
    MAX_COLUMNS,  # noqa: F401
    MAX_LISTED_CHANGES,
    MAX_LISTED_ERRORS,
    PROGRESS_EVERY,
    ApplyRefused,  # noqa: F401
    CellError,
    Column,
    FileShape,
    ImportFileError,  # noqa: F401
    Invalid,
    Table,
    applied_plan,
    file_import_apply,
    file_import_apply_request,
    file_import_check,
    file_import_create,
    file_import_recheck,
    file_imports_expire,
    header_key,
    import_save,
    in_every_language,
    refusal_of,
)
from core.file_imports.cells import (
    NO,
    NO_WORDS,
    YES,
    YES_WORDS,
    read_name,
    read_past_date,
    read_phone,
    read_text,
    read_year,
)
from core.names import NameAmbiguous, NameIndex, NameNotFound, either
from core.text import has_marks, name_key

from .models import Member, MemberImport, Team
from .services import (
    EntryInvalid,
    member_create_many,
    member_login_create,
    member_update,
    team_create,
    team_update,
)

logger = logging.getLogger(__name__)

MAX_ROWS = 20_000

# The tasks' registered names (outreach/tasks.py).
CHECK_TASK = "outreach.member_import_check"
APPLY_TASK = "outreach.member_import_apply"


# --- The file's columns ----------------------------------------------------------------


# The headers each column may have are in file_imports/headers.py, shared with the
# online-course import.
COLUMNS = (
    Column("commune_code", gettext_lazy("Commune code")),
    Column("commune_name", gettext_lazy("Commune")),
    Column("team", gettext_lazy("Team")),
    Column("hamlet", gettext_lazy("Hamlet")),
    Column("full_name", gettext_lazy("Full name")),
    Column("gender", gettext_lazy("Gender")),
    Column("birth_year", gettext_lazy("Year of birth")),
    Column("phone", gettext_lazy("Phone")),
    Column("role", gettext_lazy("Role in the team")),
    Column("youth_union", gettext_lazy("Youth union member")),
    Column("affiliation", gettext_lazy("Affiliation")),
    Column("on_zalo_oa", gettext_lazy("Joined the Zalo OA")),
    Column("zalo_joined_on", gettext_lazy("Joined the Zalo OA on")),
    Column("joined_on", gettext_lazy("Joined on")),
    Column("team_formed_on", gettext_lazy("Team formed on")),
    Column("left_on", gettext_lazy("Left on")),
)
COLUMNS_BY_KEY = {c.key: c for c in COLUMNS}

# The template's columns, in order; the member export adds "left on".
TEMPLATE_COLUMNS = (
    "commune_code",
    "commune_name",
    "team",
    "hamlet",
    "full_name",
    "gender",
    "birth_year",
    "phone",
    "role",
    "youth_union",
    "affiliation",
    "on_zalo_oa",
    "zalo_joined_on",
    "joined_on",
)


# A province's list has at most some 16,000 members.
SHAPE = FileShape(
    columns=COLUMNS,
    required=(("commune_code", "commune_name"), ("team",)),
    max_rows=MAX_ROWS,
    missing_header=gettext_lazy(
        "No header row was found in the first 10 rows. The file needs a column for the "
        "commune (code or name) and one for the team's name; download the template "
        "to see every column."
    ),
    # Without a role column every member is a plain one and the teams get no leader;
    # without phones nobody can be given a login.
    needed=(("full_name",), ("phone",), ("role",)),
)


def read_table(content: bytes) -> Table:
    """The header and the data rows of a list of members, with spreadsheet row numbers."""
    return file_imports.read_table(content, SHAPE)


_ROLE_ALIASES = {
    "to truong": Member.Role.LEADER,
    "truong to": Member.Role.LEADER,
    "to pho": Member.Role.DEPUTY,
    "pho to": Member.Role.DEPUTY,
    "thanh vien": Member.Role.MEMBER,
    "tv": Member.Role.MEMBER,
}
_GENDER_ALIASES = {
    "nam": Member.Gender.MALE,
    "nu": Member.Gender.FEMALE,
    "khac": Member.Gender.OTHER,
    "m": Member.Gender.MALE,
    "f": Member.Gender.FEMALE,
}
_AFFILIATION_ALIASES = {
    "doan thanh nien": Member.Affiliation.YOUTH_UNION,
    "doan tn": Member.Affiliation.YOUTH_UNION,
    "doan": Member.Affiliation.YOUTH_UNION,
    "cong an": Member.Affiliation.POLICE,
    "giao vien": Member.Affiliation.TEACHER,
    "can bo thon": Member.Affiliation.HAMLET_STAFF,
    "can bo thon xom": Member.Affiliation.HAMLET_STAFF,
    "can bo thon to dan pho": Member.Affiliation.HAMLET_STAFF,
    "ngan hang": Member.Affiliation.BANK_TELECOM,
    "vien thong": Member.Affiliation.BANK_TELECOM,
    "ngan hang vien thong": Member.Affiliation.BANK_TELECOM,
    "khac": Member.Affiliation.OTHER,
}


def _choice_words(choices, aliases: dict[str, str]) -> dict[str, str]:
    """Every way a list may write a choice: Vietnamese words, codes, labels in each language."""
    words = dict(aliases)
    for code, label in choices.choices:
        words.setdefault(header_key(code), code)
        for word in in_every_language(label):
            words.setdefault(word, code)
    return words


class _Readers:
    """How each member column's cells are read; built once per check, not once per cell."""

    def __init__(self):
        self.yes = YES_WORDS | in_every_language(YES)
        self.no = NO_WORDS | in_every_language(NO)
        self.gender = _choice_words(Member.Gender, _GENDER_ALIASES)
        self.role = _choice_words(Member.Role, _ROLE_ALIASES)
        self.affiliation = _choice_words(Member.Affiliation, _AFFILIATION_ALIASES)
        self.by_key: dict[str, Callable[[Any], Any]] = {
            "full_name": read_name,
            "gender": partial(
                self.choice, words=self.gender, message=_("Write male, female or other.")
            ),
            "birth_year": read_year,
            "phone": read_phone,
            "role": partial(
                self.choice, words=self.role, message=_("Write leader, deputy or member.")
            ),
            "youth_union": self.boolean,
            "affiliation": partial(
                self.choice,
                words=self.affiliation,
                message=_(
                    "Write youth union, police, teacher, hamlet staff, bank or telecom staff, "
                    "or other."
                ),
            ),
            "on_zalo_oa": self.boolean,
            "zalo_joined_on": read_past_date,
            "joined_on": read_past_date,
            "left_on": read_past_date,
        }

    def boolean(self, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        key = header_key(read_text(value))
        if key in self.yes:
            return True
        if key in self.no:
            return False
        raise CellError(_("Write yes or no."))

    @staticmethod
    def choice(value: Any, *, words: dict[str, str], message: str) -> str:
        key = header_key(read_text(value))
        if key in words:
            return words[key]
        raise CellError(message)


# --- The plan: what a file would change ------------------------------------------------


@dataclass
class TeamPlan:
    key: tuple[int, str]
    commune: Commune
    name: str
    row: int
    team: Team | None = None  # the existing team, or None for one to create
    hamlet: Hamlet | None = None
    hamlet_row: int | None = None
    formed_on: date | None = None
    formed_row: int | None = None
    earliest_joined: date | None = None

    @property
    def hamlet_changes(self) -> bool:
        return (
            self.team is not None
            and self.hamlet_row is not None
            and self.hamlet is not None
            and self.team.hamlet_id != self.hamlet.pk
        )


@dataclass
class MemberChange:
    row: int
    team_key: tuple[int, str]
    member: Member | None  # None: a member to create
    fields: dict[str, Any]
    role: str  # the role once applied
    phone: str  # the phone once applied
    full_name: str

    @property
    def demotes_leader(self) -> bool:
        return (
            self.member is not None
            and self.member.role == Member.Role.LEADER
            and self.role != Member.Role.LEADER
        )


@dataclass
class Plan:
    rows: int = 0
    errors: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    teams: dict[tuple[int, str], TeamPlan] = field(default_factory=dict)
    creates: list[MemberChange] = field(default_factory=list)
    updates: list[MemberChange] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    logins: list[MemberChange] = field(default_factory=list)

    def error(self, row: int, message: str) -> None:
        self.errors[row].append(str(message))

    @property
    def teams_to_create(self) -> list[TeamPlan]:
        return [t for t in self.teams.values() if t.team is None]

    @property
    def teams_to_update(self) -> list[TeamPlan]:
        return [t for t in self.teams.values() if t.hamlet_changes]

    def summary(self) -> dict:
        """What the import page shows, as JSON: the errors or the preview."""
        teams_create = self.teams_to_create
        teams_update = self.teams_to_update
        return {
            "counts": {
                "rows": self.rows,
                "error_rows": len(self.errors),
                "teams_create": len(teams_create),
                "teams_update": len(teams_update),
                "members_create": len(self.creates),
                "members_update": len(self.updates),
                "unchanged": self.unchanged,
                "skipped": self.skipped,
                "logins": len(self.logins),
            },
            "errors": [
                {"row": row, "messages": messages}
                for row, messages in sorted(self.errors.items())[:MAX_LISTED_ERRORS]
            ],
            "teams_create": [
                {"row": t.row, "commune": t.commune.name, "name": t.name}
                for t in teams_create[:MAX_LISTED_CHANGES]
            ],
            "teams_update": [
                {
                    "row": t.hamlet_row,
                    "commune": t.commune.name,
                    "name": t.team.name,
                    "changes": [str(Team._meta.get_field("hamlet").verbose_name)],
                }
                for t in teams_update[:MAX_LISTED_CHANGES]
            ],
            "members_create": [_change_summary(c, self) for c in self.creates[:MAX_LISTED_CHANGES]],
            "members_update": [_change_summary(c, self) for c in self.updates[:MAX_LISTED_CHANGES]],
        }


def _change_summary(change: MemberChange, plan: Plan) -> dict:
    team = plan.teams[change.team_key]
    return {
        "row": change.row,
        "team": team.name,
        "full_name": change.full_name,
        "phone": change.phone,
        "role": str(Member.Role(change.role).label),
        "changes": (
            [str(Member._meta.get_field(name).verbose_name) for name in change.fields]
            if change.member is not None
            else []
        ),
    }


class _Communes:
    """The province's communes, found by official code or by name (communes/names.py)."""

    def __init__(self):
        communes = list(Commune.objects.select_related("district"))
        self.by_code = {c.code: c for c in communes}
        self.names = NameIndex(communes)

    def find(self, code: Any, name: Any) -> Commune:
        code_text = read_text(code)
        name_text = read_text(name)
        if code_text and code_typed(code_text) is None:
            # A name in the code column is still a name.
            code_text, name_text = "", name_text or code_text
        if code_text:
            commune = self.by_code.get(code_typed(code_text))
            if commune is None:
                raise CellError(_("No commune has the code %(code)s.") % {"code": code_text})
            if name_text and commune not in self.names.matches(name_text):
                # The code decides, but a name that says otherwise means the row may be
                # about another commune: the author has to say which.
                raise CellError(
                    _(
                        "The code %(code)s is %(commune)s, but the row names %(name)s. "
                        "Correct the code or the name."
                    )
                    % {"code": code_text, "commune": commune.name, "name": name_text}
                )
            return commune
        if not name_text:
            raise CellError(_("Give the commune's code or full name."))
        try:
            return self.names.find(name_text)
        except NameAmbiguous as exc:
            raise CellError(
                _("%(candidates)s? Write the commune code in the “%(column)s” column.")
                % {"candidates": _with_codes(exc.candidates), "column": _code_column()}
            ) from None
        except NameNotFound as exc:
            if not exc.near:
                raise CellError(_("No commune is called %(name)s.") % {"name": name_text}) from None
            raise CellError(
                _(
                    "No commune is called %(name)s as written. Did you mean %(candidates)s? "
                    "Write the commune code in the “%(column)s” column."
                )
                % {
                    "name": name_text,
                    "candidates": _with_codes(exc.near),
                    "column": _code_column(),
                }
            ) from None


def _with_codes(communes: list[Commune]) -> str:
    return either([f"{c.name} ({c.code})" for c in sorted(communes, key=lambda c: c.code)])


def _code_column() -> str:
    return str(COLUMNS_BY_KEY["commune_code"].label)


@dataclass
class _Row:
    number: int
    commune: Commune | None = None
    team_name: str = ""
    team: Team | None = None  # the existing team the row names, once resolved
    hamlet_name: str = ""
    team_formed_on: date | None = None
    values: dict[str, Any] = field(default_factory=dict)  # the member's given values
    has_member: bool = False
    left_on: date | None = None


def _parse_row(
    number: int, cells: list[Any], columns: dict[str, int], plan: Plan, communes, readers
) -> "_Row":
    """The row's values, typed; each cell that cannot be read is an error of the row."""

    def cell(key: str) -> Any:
        position = columns.get(key)
        if position is None or position >= len(cells):
            return None
        value = cells[position]
        return None if isinstance(value, str) and not value.strip() else value

    row = _Row(number=number)
    refused = set()  # the columns whose cell was refused: already said, not "missing"
    for key, reader in readers.by_key.items():
        raw = cell(key)
        if raw is None:
            continue
        row.has_member = True
        try:
            value = reader(raw)
        except CellError as exc:
            plan.error(number, f"{COLUMNS_BY_KEY[key].label}: {exc}")
            refused.add(key)
            continue
        if value not in ("", None):
            row.values[key] = value
    row.left_on = row.values.pop("left_on", None)
    try:
        row.team_name = read_name(cell("team"))
    except CellError as exc:
        plan.error(number, f"{COLUMNS_BY_KEY['team'].label}: {exc}")
        refused.add("team")
    row.hamlet_name = read_text(cell("hamlet"))
    try:
        row.team_formed_on = read_past_date(cell("team_formed_on"))
    except CellError as exc:
        plan.error(number, f"{COLUMNS_BY_KEY['team_formed_on'].label}: {exc}")
    try:
        row.commune = communes.find(cell("commune_code"), cell("commune_name"))
    except CellError as exc:
        plan.error(number, str(exc))
    if not row.team_name and "team" not in refused:
        plan.error(number, _("Give the team's name."))
    if row.has_member and not row.values.get("full_name") and "full_name" not in refused:
        plan.error(number, _("Give the member's full name."))
    return row


def _is_empty(cells: list[Any], columns: dict[str, int]) -> bool:
    return all(
        position >= len(cells) or cells[position] is None or not str(cells[position]).strip()
        for position in columns.values()
    )


def _field_values(values: dict[str, Any]) -> dict[str, Any]:
    """The row's values under the names of Member's fields."""
    names = {"youth_union": "is_youth_union_member"}
    return {names.get(key, key): value for key, value in values.items()}


def build_plan(
    *,
    by: User,
    table: Table,
    create_logins: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Plan:
    """Check every row and work out what the file would change. Writes nothing."""
    plan = Plan()
    communes = _Communes()
    readers = _Readers()
    scope = scope_for(by)
    today = timezone.localdate()
    data = [(n, cells) for n, cells in table.rows if not _is_empty(cells, table.columns)]
    plan.rows = len(data)
    total = len(data) * 2  # two passes over the rows

    rows: list[_Row] = []
    for done, (number, cells) in enumerate(data, start=1):
        row = _parse_row(number, cells, table.columns, plan, communes, readers)
        if row.commune is not None and not scope.contains_commune(row.commune):
            plan.error(
                number,
                _("%(commune)s is outside the area you work in.") % {"commune": row.commune.name},
            )
            row.commune = None
        rows.append(row)
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, total)

    # What the database holds for the communes and phones the file names, in few queries.
    commune_ids = {row.commune.pk for row in rows if row.commune}
    teams: dict[int, NameIndex[Team]] = defaultdict(NameIndex)
    for team in Team.objects.filter(commune_id__in=commune_ids).select_related("hamlet"):
        teams[team.commune_id].add(team)
    hamlets: dict[int, NameIndex[Hamlet]] = defaultdict(NameIndex)
    for hamlet in Hamlet.objects.filter(commune_id__in=commune_ids):
        hamlets[hamlet.commune_id].add(hamlet)
    _resolve_teams(plan, rows, teams)
    members_by_team: dict[int, list[Member]] = defaultdict(list)
    for member in Member.objects.filter(team__commune_id__in=commune_ids, is_active=True):
        members_by_team[member.team_id].append(member)
    leaders = {
        team_id: next((m for m in members if m.role == Member.Role.LEADER), None)
        for team_id, members in members_by_team.items()
    }
    phones = sorted({row.values["phone"] for row in rows if row.values.get("phone")})
    phone_owners: dict[str, int] = {}
    for start in range(0, len(phones), 2000):
        phone_owners.update(
            Member.objects.filter(
                is_active=True, phone__in=phones[start : start + 2000]
            ).values_list("phone", "pk")
        )

    seen_phones: dict[str, int] = {}
    seen_members: dict[object, int] = {}
    changes: list[MemberChange] = []
    for done, row in enumerate(rows, start=len(rows) + 1):
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, total)
        if row.commune is None or not row.team_name or row.number in plan.errors:
            continue
        team_plan = _team_plan(plan, row, hamlets[row.commune.pk])
        if row.left_on is not None:
            # Former members (an export lists them) are history, not roster changes.
            plan.skipped += 1
            continue
        if not row.has_member:
            continue
        change = _member_change(plan, row, team_plan, members_by_team, today)
        if change is None:
            continue
        phone = change.phone
        if phone:
            if phone in seen_phones:
                plan.error(
                    row.number,
                    _("The phone number %(phone)s is also on row %(row)d.")
                    % {"phone": phone, "row": seen_phones[phone]},
                )
                continue
            seen_phones[phone] = row.number
            owner = phone_owners.get(phone)
            if owner is not None and (change.member is None or change.member.pk != owner):
                plan.error(row.number, _("This phone number belongs to another active member."))
                continue
        # Two rows for one person: the same member matched, or the same name with no phone.
        if change.member is not None:
            identity = change.member.pk
        elif not phone:
            identity = (change.team_key, name_key(change.full_name))
        else:
            identity = None  # a new member with a phone: the phone check above covers it
        if identity is not None and identity in seen_members:
            plan.error(
                row.number,
                _("This member is also on row %(row)d.") % {"row": seen_members[identity]},
            )
            continue
        if identity is not None:
            seen_members[identity] = row.number
        if change.fields or change.member is None:
            team = team_plan.team
            if team is not None and not team.is_active:
                plan.error(
                    row.number,
                    _("The team %(team)s was dissolved; its members cannot be changed.")
                    % {"team": team.name},
                )
                continue
        changes.append(change)

    _check_leaders(plan, changes, leaders)
    for change in changes:
        if change.row in plan.errors:
            continue
        if change.member is None:
            plan.creates.append(change)
        elif change.fields:
            plan.updates.append(change)
        else:
            plan.unchanged += 1
    for team_plan in plan.teams.values():
        if team_plan.team is not None:
            continue
        # A team is as old as its earliest member; the day of the import is no founding day.
        team_plan.formed_on = team_plan.formed_on or team_plan.earliest_joined
        if team_plan.formed_on is None:
            plan.error(
                team_plan.row,
                _(
                    "%(team)s is a new team and the file gives no date for it: write its "
                    "founding date in the “%(column)s” column."
                )
                % {"team": team_plan.name, "column": COLUMNS_BY_KEY["team_formed_on"].label},
            )
    if create_logins:
        _check_logins(plan, changes)
    if progress:
        progress(total, total)
    return plan


def _resolve_teams(plan: Plan, rows: list[_Row], teams: dict[int, NameIndex[Team]]) -> None:
    """Which team each row names: one of its commune's teams, or a new one the file makes.

    The rule of communes/names.py, over the commune's teams and the new names the file
    writes: "xóm Đồng" and "xóm Đông" are two teams. Names written with tone marks go
    first, so that "xom dong" further up the file can still find the "xóm Đồng" below.
    """
    new: dict[int, NameIndex[str]] = defaultdict(lambda: NameIndex(name=str))
    named = [r for r in rows if r.commune is not None and r.team_name]
    named = [r for r in named if r.number not in plan.errors]
    for row in sorted(named, key=lambda r: not has_marks(r.team_name)):
        existing, created = teams[row.commune.pk], new[row.commune.pk]
        candidates = [*existing.written(row.team_name), *created.written(row.team_name)]
        if not candidates and not has_marks(row.team_name):
            candidates = [*existing.folded(row.team_name), *created.folded(row.team_name)]
        if len(candidates) > 1:
            names = sorted(c if isinstance(c, str) else c.name for c in candidates)
            plan.error(
                row.number,
                _("Which team: %(candidates)s? Write the team's name with its tone marks.")
                % {"candidates": either(names)},
            )
        elif candidates and isinstance(candidates[0], Team):
            row.team = candidates[0]
            row.team_name = row.team.name
        elif candidates:
            row.team_name = candidates[0]  # as the file first writes it
        else:
            created.add(row.team_name)


def _team_plan(plan: Plan, row: _Row, hamlets: NameIndex[Hamlet]) -> TeamPlan:
    name = " ".join(row.team_name.split())
    key = (row.commune.pk, name_key(name))
    team_plan = plan.teams.get(key)
    if team_plan is None:
        team_plan = TeamPlan(key=key, commune=row.commune, name=name, row=row.number)
        team_plan.team = row.team
        plan.teams[key] = team_plan
    if row.hamlet_name:
        hamlet = _find_hamlet(plan, row, hamlets)
        current = team_plan.team.hamlet_id if team_plan.team else None
        if hamlet is not None and not hamlet.is_active and hamlet.pk != current:
            plan.error(
                row.number,
                _("The hamlet %(hamlet)s is no longer in use; it takes no new team.")
                % {"hamlet": hamlet.name},
            )
        elif hamlet is None:
            pass  # _find_hamlet said why
        elif team_plan.hamlet_row is None:
            team_plan.hamlet, team_plan.hamlet_row = hamlet, row.number
        elif team_plan.hamlet != hamlet:
            plan.error(
                row.number,
                _("Row %(row)d puts this team in another hamlet.") % {"row": team_plan.hamlet_row},
            )
    if row.team_formed_on is not None:
        if team_plan.formed_row is None:
            team_plan.formed_on, team_plan.formed_row = row.team_formed_on, row.number
        elif team_plan.formed_on != row.team_formed_on:
            plan.error(
                row.number,
                _("Row %(row)d gives another date for the team's formation.")
                % {"row": team_plan.formed_row},
            )
    joined = row.values.get("joined_on")
    if joined and (team_plan.earliest_joined is None or joined < team_plan.earliest_joined):
        team_plan.earliest_joined = joined
    return team_plan


def _find_hamlet(plan: Plan, row: _Row, hamlets: NameIndex[Hamlet]) -> Hamlet | None:
    """The hamlet of the row's commune the row names, or None with the row's error."""
    try:
        return hamlets.find(row.hamlet_name)
    except NameAmbiguous as exc:
        plan.error(
            row.number,
            _("Which hamlet: %(candidates)s? Write the hamlet's name with its tone marks.")
            % {"candidates": either(sorted(h.name for h in exc.candidates))},
        )
    except NameNotFound as exc:
        message = _("%(commune)s has no hamlet called %(hamlet)s; add it first.") % {
            "commune": row.commune.name,
            "hamlet": row.hamlet_name,
        }
        if exc.near:
            message += " " + _("Did you mean %(candidates)s?") % {
                "candidates": either(sorted(h.name for h in exc.near))
            }
        plan.error(row.number, message)
    return None


def _match(row: _Row, members: list[Member]) -> Member | None:
    """The team's active member this row describes: same phone, or same name without one."""
    phone = row.values.get("phone")
    if phone:
        by_phone = [m for m in members if m.phone == phone]
        if by_phone:
            return by_phone[0]
        # A member entered without a phone gets the one the list now gives.
        members = [m for m in members if not m.phone]
    # People are told apart by their tone marks too: "Hùng" is not "Hưng".
    names = NameIndex(members, name=lambda m: m.full_name, kinds=())
    candidates = names.matches(row.values["full_name"])
    if len(candidates) > 1:
        raise CellError(
            _("Several members of this team are called %(name)s; give the phone number.")
            % {"name": row.values["full_name"]}
        )
    return candidates[0] if candidates else None


def _member_change(
    plan: Plan, row: _Row, team_plan: TeamPlan, members_by_team: dict, today: date
) -> MemberChange | None:
    values = _field_values(row.values)
    values["full_name"] = " ".join(values["full_name"].split())
    if values.get("zalo_joined_on"):
        if values.get("on_zalo_oa") is False:
            plan.error(row.number, _("A Zalo OA date is given for a member who did not join."))
            return None
        values["on_zalo_oa"] = True
    existing = members_by_team.get(team_plan.team.pk, []) if team_plan.team else []
    try:
        member = _match(row, existing)
    except CellError as exc:
        plan.error(row.number, str(exc))
        return None

    if member is None:
        values.setdefault("role", Member.Role.MEMBER)
        values.setdefault("joined_on", today)
        candidate = Member(**values)
        fields = values
    else:
        if values.get("on_zalo_oa") is False and member.zalo_joined_on:
            values["zalo_joined_on"] = None
        fields = {k: v for k, v in values.items() if getattr(member, k) != v}
        candidate = Member(**{f: getattr(member, f) for f in _MEMBER_FIELD_NAMES})
        for name, value in fields.items():
            setattr(candidate, name, value)
    # The model's own field rules (lengths, choices, year range), as the services apply.
    try:
        candidate.clean_fields(exclude=["id", "team", "user", "full_name_folded"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            label = Member._meta.get_field(name).verbose_name
            for message in messages:
                plan.error(row.number, f"{str(label).capitalize()}: {message}")
        return None
    return MemberChange(
        row=row.number,
        team_key=team_plan.key,
        member=member,
        fields=fields,
        role=candidate.role,
        phone=candidate.phone,
        full_name=candidate.full_name,
    )


_MEMBER_FIELD_NAMES = (
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
    "user_id",
)


def _check_leaders(plan: Plan, changes: list[MemberChange], leaders: dict) -> None:
    """At most one active leader per team, once the file is applied."""
    file_leader: dict[tuple[int, str], MemberChange] = {}
    demoted = {c.member.pk for c in changes if c.demotes_leader and c.row not in plan.errors}
    for change in changes:
        if change.role != Member.Role.LEADER or change.row in plan.errors:
            continue
        first = file_leader.get(change.team_key)
        if first is not None:
            plan.error(
                change.row,
                _("Row %(row)d already names this team's leader.") % {"row": first.row},
            )
            continue
        file_leader[change.team_key] = change
        team = plan.teams[change.team_key].team
        current = leaders.get(team.pk) if team else None
        is_current = change.member is not None and current is not None
        is_current = is_current and change.member.pk == current.pk
        if current is not None and not is_current and current.pk not in demoted:
            plan.error(
                change.row,
                _("This team already has an active leader: %(name)s.")
                % {"name": current.full_name},
            )


def _check_logins(plan: Plan, changes: list[MemberChange]) -> None:
    """The leaders named in the file who will get a login, or why they cannot."""
    wanted = [
        c
        for c in changes
        if c.role == Member.Role.LEADER
        and c.row not in plan.errors
        and not (c.member is not None and c.member.user_id)
    ]
    taken = set(
        User.objects.filter(username__in=[c.phone for c in wanted if c.phone]).values_list(
            "username", flat=True
        )
    )
    for change in wanted:
        if not change.phone:
            plan.error(change.row, _("The leader needs a phone number to log in with."))
        elif change.phone in taken:
            plan.error(change.row, _("Another login already uses this phone number."))
        else:
            plan.logins.append(change)
    # A row that failed here is not applied either.
    plan.creates = [c for c in plan.creates if c.row not in plan.errors]
    plan.updates = [c for c in plan.updates if c.row not in plan.errors]


# --- Applying a clean plan -------------------------------------------------------------


def apply_plan(
    *, by: User, plan: Plan, progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, int], list[dict[str, str]]]:
    """Write a clean plan through the services. Call inside a transaction.

    Returns the counts and the logins created, with their passwords.
    """
    steps = (
        len(plan.teams_to_create)
        + len(plan.teams_to_update)
        + len(plan.updates)
        + len(plan.creates)
        + len(plan.logins)
    )
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, steps)

    teams: dict[tuple[int, str], Team] = {}
    for team_plan in plan.teams.values():
        with refusal_of(team_plan.row):
            if team_plan.team is None:
                teams[team_plan.key] = team_create(
                    by=by,
                    commune=team_plan.commune,
                    name=team_plan.name,
                    formed_on=team_plan.formed_on,
                    hamlet=team_plan.hamlet,
                )
                step()
            elif team_plan.hamlet_changes:
                teams[team_plan.key] = team_update(
                    by=by, team=team_plan.team, hamlet=team_plan.hamlet
                )
                step()
            else:
                teams[team_plan.key] = team_plan.team
    # Leaders who step down go first, so that the new leader finds the place free.
    members: dict[int, Member] = {}
    for change in sorted(plan.updates, key=lambda c: not c.demotes_leader):
        with refusal_of(change.row):
            members[change.row] = member_update(by=by, member=change.member, **change.fields)
        step()
    # New members go in batches: one at a time through member_create, a province's file
    # took minutes. The rules are the same.
    try:
        created = member_create_many(
            by=by, entries=[(teams[c.team_key], c.fields) for c in plan.creates]
        )
    except EntryInvalid as exc:
        raise ApplyRefused(plan.creates[exc.index].row, exc.messages) from exc
    for change, member in zip(plan.creates, created, strict=True):
        members[change.row] = member
        step()
    logins = []
    for change in plan.logins:
        member = members.get(change.row) or change.member
        with refusal_of(change.row):
            user, password = member_login_create(by=by, member=member)
        logins.append(
            {
                "username": user.username,
                "full_name": member.full_name,
                "team": teams[change.team_key].name,
                "password": password,
            }
        )
        step()
    counts = {
        "teams_created": len(plan.teams_to_create),
        "teams_updated": len(plan.teams_to_update),
        "members_created": len(plan.creates),
        "members_updated": len(plan.updates),
        "unchanged": plan.unchanged,
        "logins_created": len(logins),
    }
    return counts, logins


# --- The import's life: upload, check, apply -------------------------------------------


def member_import_create(
    *, by: User, file_name: str, content: bytes, create_logins: bool, language: str
) -> MemberImport:
    """Store an uploaded file and queue its check once the upload is committed."""
    return file_import_create(
        model=MemberImport,
        check_task=CHECK_TASK,
        created_by=by,
        file_name=file_name[:255],
        content=content,
        create_logins=create_logins,
        language=language,
    )


def member_import_recheck(*, member_import: MemberImport) -> bool:
    """Check a file again (after a fix in the portal, or when its check never ran)."""
    return file_import_recheck(file_import=member_import, check_task=CHECK_TASK)


def member_import_apply_request(*, member_import: MemberImport) -> bool:
    """Queue the apply of a checked file; a second click queues nothing."""
    return file_import_apply_request(file_import=member_import, apply_task=APPLY_TASK)


def member_import_check(member_import: MemberImport) -> None:
    """Check an uploaded file and store its errors or its preview. Writes no roster data."""

    def check(table: Table, progress: Callable[[int, int], None]) -> Plan:
        return build_plan(
            by=member_import.created_by,
            table=table,
            create_logins=member_import.create_logins,
            progress=progress,
        )

    file_import_check(member_import, shape=SHAPE, check=check)


def _apply(locked: MemberImport, progress: Callable[[int, int], None]) -> dict[str, Any]:
    table = read_table(bytes(locked.content))
    plan = build_plan(by=locked.created_by, table=table, create_logins=locked.create_logins)
    if plan.errors or not plan.rows:
        raise Invalid(file_imports.plan_result(plan, table))
    counts, logins = apply_plan(by=locked.created_by, plan=plan, progress=progress)
    return {**applied_plan(plan, counts, table), "new_logins": logins}


def member_import_apply(member_import: MemberImport) -> None:
    """Check the file again and apply it in one transaction: every change or none."""
    file_import_apply(member_import, apply=_apply)


@transaction.atomic
def member_import_logins_take(*, member_import: MemberImport) -> list[dict[str, str]]:
    """The new logins' passwords, handed out once: they are forgotten as they are read."""
    locked = MemberImport.objects.select_for_update().get(pk=member_import.pk)
    logins = list(locked.new_logins)
    if logins:
        import_save(locked, new_logins=[])
    return logins


# Unread passwords hold personal data: forget them soon (the files go after 30 days).
UNREAD_PASSWORDS_KEPT = timedelta(hours=24)


def member_imports_expire(*, now: datetime | None = None) -> tuple[int, int]:
    """Forget passwords nobody downloaded within a day and imports older than 30 days.

    Returns (imports whose passwords were cleared, imports deleted).
    """
    now = now or timezone.now()
    cleared = (
        MemberImport.objects.filter(created_at__lt=now - UNREAD_PASSWORDS_KEPT)
        .exclude(new_logins=[])
        .update(new_logins=[])
    )
    deleted = file_imports_expire(model=MemberImport, now=now)
    return cleared, deleted
