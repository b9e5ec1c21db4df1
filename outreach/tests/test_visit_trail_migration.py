"""The migration that moves visits' own trail (VisitChange) into the one audit trail."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("outreach", "0007_household_address_key")]
COPY = [("outreach", "0008_visit_changes_into_audit_trail")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # what the previous run applied
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_every_visit_change_is_copied_into_the_audit_trail(reference_data, divisions):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    apps = _migrate(BEFORE)
    try:
        Commune = apps.get_model("communes", "Commune")
        Hamlet = apps.get_model("communes", "Hamlet")
        Team = apps.get_model("outreach", "Team")
        Household = apps.get_model("outreach", "Household")
        Visit = apps.get_model("outreach", "Visit")
        VisitChange = apps.get_model("outreach", "VisitChange")
        User = apps.get_model("accounts", "User")
        commune = Commune.objects.get(code=14269)
        hamlet = Hamlet.objects.create(commune=commune, name="Thôn Đông")
        team = Team.objects.create(
            commune=commune, name="Tổ CNS", name_key="tổ cns", formed_on=dt.date(2026, 1, 5)
        )
        leader = User.objects.create(username="to.truong", full_name="Trần Văn An")
        household = Household.objects.create(
            hamlet=hamlet, commune=commune, address_label="Số 3", address_key="số 3"
        )
        kept = Visit.objects.create(team=team, household=household, visited_on=dt.date(2026, 6, 10))
        created = {
            "team": team.pk,
            "household": "Số 3",
            "visited_on": "2026-06-10",
            "members": [7],
            "notes": "",
        }
        rows = [
            (kept.pk, "created", leader, created),
            (kept.pk, "changed", leader, {"residents_helped": [1, 3]}),
            (kept.pk, "changed", None, {"household": ["Số 3", "Số 3A"]}),
            # A visit deleted since: its trail outlives it, named by what its deletion held.
            (9_000_001, "created", leader, {**created, "visited_on": "2026-06-01"}),
            (9_000_001, "deleted", leader, {**created, "visited_on": "2026-06-01"}),
        ]
        times = [dt.datetime(2026, 6, 10, 8, n, tzinfo=dt.UTC) for n in range(len(rows))]
        for (number, action, by, changes), at in zip(rows, times, strict=True):
            change = VisitChange.objects.create(
                visit_id=number if number == kept.pk else None,
                visit_number=number,
                team=team,
                action=action,
                changed_by=by,
                changes=changes,
            )
            VisitChange.objects.filter(pk=change.pk).update(changed_at=at)

        apps = _migrate(COPY)
        AuditEntry = apps.get_model("accounts", "AuditEntry")
        entries = AuditEntry.objects.filter(content_type__model="visit").order_by("at", "id")
        assert entries.count() == VisitChange.objects.count() == len(rows)
        assert [
            (e.object_id, e.action, e.actor_id, e.changes, e.at, e.commune_id, e.object_repr)
            for e in entries
        ] == [
            (number, action, by.pk if by else None, changes, at, commune.pk, name)
            for (number, action, by, changes), at, name in zip(
                rows,
                times,
                ["Số 3 10/06/2026"] * 3 + ["Số 3 01/06/2026"] * 2,
                strict=True,
            )
        ]
        assert {e.content_type.app_label for e in entries} == {"outreach"}

        # Going back puts the same rows into VisitChange and takes them out of the trail.
        apps = _migrate(BEFORE)
        VisitChange = apps.get_model("outreach", "VisitChange")
        restored = VisitChange.objects.order_by("changed_at", "id")
        assert [
            (c.visit_number, c.visit_id, c.action, c.changed_by_id, c.changes, c.changed_at)
            for c in restored
        ] == [
            (
                number,
                number if number == kept.pk else None,
                action,
                by.pk if by else None,
                changes,
                at,
            )
            for (number, action, by, changes), at in zip(rows, times, strict=True)
        ]
        AuditEntry = apps.get_model("accounts", "AuditEntry")
        assert not AuditEntry.objects.filter(content_type__model="visit").exists()
    finally:
        _migrate(latest)
