"""Exports of the members, teams and visits a user can see, in the shape the import reads
(the files are written by core/exports.py), and the member import's template."""

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import openpyxl
from django.db.models import Case, Count, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts.models import User
from core.exports import XLSX_DATE_FORMAT

from .imports import COLUMNS_BY_KEY, NO, TEMPLATE_COLUMNS, YES
from .models import Household, Member, Service, Team, Visit
from .selectors import members_visible, teams_visible

MEMBER_COLUMNS = (*TEMPLATE_COLUMNS, "left_on")


def _yes_no(value: bool) -> str:
    return str(YES if value else NO)


def member_header() -> list[str]:
    return [capfirst(str(COLUMNS_BY_KEY[key].label)) for key in MEMBER_COLUMNS]


def member_rows(user: User) -> Iterator[list[Any]]:
    """One row per member the user can see, grouped by commune and team, leaders first."""
    role_rank = Case(
        When(role=Member.Role.LEADER, then=Value(0)),
        When(role=Member.Role.DEPUTY, then=Value(1)),
        default=Value(2),
    )
    members = (
        members_visible(user)
        .select_related("team__hamlet")
        .order_by(
            "team__commune__code",
            "team__name_folded",
            "team_id",
            "-is_active",
            role_rank,
            "full_name_folded",
            "pk",
        )
    )
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


def team_rows(user: User) -> Iterator[list[Any]]:
    leader = Member.objects.filter(
        team=OuterRef("pk"), role=Member.Role.LEADER, is_active=True
    ).order_by("pk")
    teams = (
        teams_visible(user)
        .annotate(
            active_members=Count("members", filter=Q(members__is_active=True)),
            leader_name=Subquery(leader.values("full_name")[:1]),
            leader_phone=Subquery(leader.values("phone")[:1]),
        )
        .order_by("commune__code", "name_folded", "pk")
    )
    for team in teams.iterator(chunk_size=2000):
        yield [
            team.commune.code,
            team.commune.name,
            team.name,
            team.hamlet.name if team.hamlet else "",
            team.formed_on,
            team.dissolved_on,
            team.active_members,
            team.leader_name or "",
            team.leader_phone or "",
        ]


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
