"""Exports of the lists of members, teams, hamlets, households and visits, each with its
list's filters and scope (the members and teams in the shape the import reads; the files
are written by core/exports.py), and the member import's template."""

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import openpyxl
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from communes.models import Hamlet
from core.exports import XLSX_DATE_FORMAT

from .imports import COLUMNS_BY_KEY, NO, TEMPLATE_COLUMNS, YES
from .models import Household, Member, Service, Team, Visit
from .selectors import with_visits_counted

MEMBER_COLUMNS = (*TEMPLATE_COLUMNS, "left_on")


def _yes_no(value: bool) -> str:
    return str(YES if value else NO)


def member_header() -> list[str]:
    return [capfirst(str(COLUMNS_BY_KEY[key].label)) for key in MEMBER_COLUMNS]


def member_rows(members: QuerySet[Member]) -> Iterator[list[Any]]:
    """One row per member of `members` (the member list's, scoped and filtered), in the
    list's order."""
    members = members.select_related(None).select_related("team__commune", "team__hamlet")
    for member in members.iterator(chunk_size=2000):
        team = member.team
        yield [
            team.commune.code,
            team.commune.name,
            team.name,
            team.hamlet.name if team.hamlet else "",
            member.full_name,
            member.get_gender_display() if member.gender else "",
            member.birth_year,
            member.phone,
            member.get_role_display(),
            _yes_no(member.is_youth_union_member),
            member.get_affiliation_display(),
            _yes_no(member.on_zalo_oa),
            member.zalo_joined_on,
            member.joined_on,
            member.left_on,
        ]


TEAM_COLUMNS = ("commune_code", "commune_name", "team", "hamlet", "team_formed_on")


def team_header() -> list[str]:
    # Only the first columns are read back by the import; the rest are for the reader.
    return [
        *(capfirst(str(COLUMNS_BY_KEY[key].label)) for key in TEAM_COLUMNS),
        _("Dissolved on"),
        _("Active members"),
        _("Leader"),
        _("Leader's phone"),
    ]


def team_rows(teams: QuerySet[Team]) -> Iterator[list[Any]]:
    """One row per team of `teams` (the team list's, scoped, filtered, with their active
    members counted and their leader named: outreach.selectors.teams_listed), in the
    list's order, with the leader's phone."""
    leader = Member.objects.filter(
        team=OuterRef("pk"), role=Member.Role.LEADER, is_active=True
    ).order_by("pk")
    teams = teams.annotate(leader_phone=Subquery(leader.values("phone")[:1]))
    for team in teams.iterator(chunk_size=2000):
        yield [
            team.commune.code,
            team.commune.name,
            team.name,
            team.hamlet.name if team.hamlet else "",
            team.formed_on,
            team.dissolved_on,
            team.active_member_count,
            team.leader_name or "",
            team.leader_phone or "",
        ]


def hamlet_header() -> list[str]:
    return [
        capfirst(str(COLUMNS_BY_KEY["commune_code"].label)),
        capfirst(str(COLUMNS_BY_KEY["commune_name"].label)),
        _("Hamlet"),
        _("Active teams"),
        _("Households"),
        _("Status"),
    ]


def hamlet_rows(hamlets: QuerySet[Hamlet]) -> Iterator[list[Any]]:
    """One row per hamlet of `hamlets` (the hamlet list's, with their active teams and
    households counted: outreach.selectors.hamlets_listed), in the list's order."""
    active, inactive = _("Active"), _("Inactive")
    for hamlet in hamlets.iterator(chunk_size=2000):
        yield [
            hamlet.commune.code,
            hamlet.commune.name,
            hamlet.name,
            hamlet.team_count,
            hamlet.household_count,
            active if hamlet.is_active else inactive,
        ]


def household_header() -> list[str]:
    return [
        capfirst(str(COLUMNS_BY_KEY["commune_code"].label)),
        capfirst(str(COLUMNS_BY_KEY["commune_name"].label)),
        _("Hamlet"),
        _("Address"),
        _("Visits"),
        _("Last visit"),
    ]


def household_rows(households: QuerySet[Household]) -> Iterator[list[Any]]:
    """One row per household of `households` (the household list's, scoped and
    filtered), in the list's order, with its visits counted. Like the visits' export, no
    household head's name or phone: an export leaves the portal's access control."""
    rows = with_visits_counted(households.select_related(None)).values_list(
        "commune__code",
        "commune__name",
        "hamlet__name",
        "address_label",
        "visit_count",
        "last_visit",
    )
    for row in rows.iterator(chunk_size=2000):
        yield list(row)


# Visits read per query: the rows of a chunk and their services are all that is held.
VISIT_CHUNK = 5_000


def visit_header() -> list[str]:
    return [
        _("Date"),
        capfirst(str(COLUMNS_BY_KEY["commune_code"].label)),
        capfirst(str(COLUMNS_BY_KEY["commune_name"].label)),
        _("Team"),
        _("Hamlet"),
        _("Address"),
        _("Outcome"),
        _("Residents helped"),
        _("Members who went"),
        _("Services"),
    ]


def visit_rows(visits: QuerySet[Visit]) -> Iterator[list[Any]]:
    """One row per visit of `visits` (those the user can see, through the visit list's
    filters), oldest first.

    Read in chunks by id (keyset, on the primary key) with the visits' own columns only,
    so that each chunk is a walk of the primary key however many visits there are; the
    chunk's households, services and members follow in one query each, and the teams
    (with their communes) once each. A province's millions of visits stream in flat
    memory. No phone numbers or household heads: an export leaves the portal's access
    control.
    """
    visits = visits.prefetch_related(None).select_related(None)
    visits = visits.order_by("pk")
    services = {service.pk: str(service) for service in Service.objects.all()}
    outcomes = {value: str(label) for value, label in Visit.Outcome.choices}
    teams: dict[int, tuple] = {}
    last = 0
    while True:
        chunk = list(
            visits.filter(pk__gt=last).values_list(
                "pk", "visited_on", "team_id", "household_id", "outcome", "residents_helped"
            )[:VISIT_CHUNK]
        )
        if not chunk:
            return
        ids = [row[0] for row in chunk]
        # The chunk again as a subquery: thousands of ids as parameters cost more to
        # prepare in Python than the database takes to walk the primary key once more.
        in_chunk = visits.filter(pk__gt=last, pk__lte=ids[-1])
        new_teams = {row[2] for row in chunk} - teams.keys()
        if new_teams:
            teams.update(
                (pk, rest)
                for pk, *rest in Team.objects.filter(pk__in=new_teams).values_list(
                    "pk", "commune__code", "commune__name", "name"
                )
            )
        households = {
            pk: (hamlet, address)
            for pk, hamlet, address in Household.objects.filter(
                pk__in=in_chunk.values("household_id")
            ).values_list("pk", "hamlet__name", "address_label")
        }
        helped: dict[int, list[str]] = {}
        for visit_id, service_id in (
            Visit.services.through.objects.filter(visit_id__in=in_chunk.values("pk"))
            .order_by("visit_id", "service__sort_order")
            .values_list("visit_id", "service_id")
        ):
            helped.setdefault(visit_id, []).append(services[service_id])
        went = dict(
            Visit.members.through.objects.filter(visit_id__in=in_chunk.values("pk"))
            .order_by()
            .values("visit_id")
            .annotate(n=Count("member_id"))
            .values_list("visit_id", "n")
        )
        for pk, day, team_id, household_id, outcome, residents in chunk:
            code, commune, team = teams[team_id]
            hamlet, address = households[household_id]
            yield [
                day,
                code,
                commune,
                team,
                hamlet,
                address,
                outcomes.get(outcome, outcome),
                residents,
                went.get(pk, 0),
                "; ".join(helped.get(pk, ())),
            ]
        last = ids[-1]


def template_bytes(example: list[Any]) -> bytes:
    """The import template: the header row and one example row."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "members"
    header = [capfirst(str(COLUMNS_BY_KEY[key].label)) for key in TEMPLATE_COLUMNS]
    sheet.append(header)
    sheet.append(example)
    for cell in sheet[2]:
        if isinstance(cell.value, date):
            cell.number_format = XLSX_DATE_FORMAT
    for index, text in enumerate(header, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(text) + 4)
    # Phone numbers as text, or Excel drops their leading zero (the import copes either way).
    phone = openpyxl.utils.get_column_letter(TEMPLATE_COLUMNS.index("phone") + 1)
    sheet.column_dimensions[phone].number_format = "@"
    sheet[f"{phone}2"].number_format = "@"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
