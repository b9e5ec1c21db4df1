"""The migration that records the facts of the visits stored before they were recorded."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("outreach", "0009_visit_change_dropped"), ("dashboard", "0010_summary_keys")]
AFTER = [("outreach", "0011_visit_facts_required"), ("dashboard", "0012_running_totals")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # what the previous run applied
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


# Migrating the whole schema back and forth takes half a minute: the slow lane's.
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_visits_stored_before_get_their_places_ranks_member_days_and_readiness(
    reference_data, divisions
):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    apps = _migrate(BEFORE)
    try:
        Commune = apps.get_model("communes", "Commune")
        Hamlet = apps.get_model("communes", "Hamlet")
        Team = apps.get_model("outreach", "Team")
        Member = apps.get_model("outreach", "Member")
        Household = apps.get_model("outreach", "Household")
        Visit = apps.get_model("outreach", "Visit")
        commune = Commune.objects.get(code=14269)
        hamlet = Hamlet.objects.create(commune=commune, name="Thôn Đông")
        formed = dt.date(2026, 1, 5)
        teams = [
            Team.objects.create(commune=commune, name=name, name_key=name.lower(), formed_on=formed)
            for name in ("Tổ 1", "Tổ 2")
        ]
        member = Member.objects.create(
            team=teams[0], full_name="Trần Văn An", role="leader", joined_on=formed
        )
        household = Household.objects.create(
            hamlet=hamlet, commune=commune, address_label="Số 3", address_key="số 3"
        )
        days = [dt.date(2026, 6, 10), dt.date(2026, 6, 1), dt.date(2026, 6, 20)]
        visits = [
            Visit.objects.create(
                team=team, household=household, visited_on=day, has_smartphone=answer
            )
            for team, day, answer in zip(
                (teams[0], teams[0], teams[1]), days, (True, False, None), strict=True
            )
        ]
        visits[0].members.add(member)

        apps = _migrate(AFTER)
        Visit = apps.get_model("outreach", "Visit")
        stored = {
            v.pk: (v.commune_id, v.hamlet_id, v.first_for_household, v.first_for_team)
            for v in Visit.objects.all()
        }
        assert stored == {
            visits[0].pk: (commune.pk, hamlet.pk, False, False),
            visits[1].pk: (commune.pk, hamlet.pk, True, True),
            visits[2].pk: (commune.pk, hamlet.pk, False, True),
        }
        MemberDay = apps.get_model("outreach", "MemberDay")
        assert list(MemberDay.objects.values_list("member_id", "commune_id", "day")) == [
            (member.pk, commune.pk, days[0])
        ]
        ReadinessDay = apps.get_model("outreach", "ReadinessDay")
        # No on 1 June, yes from 10 June: answered once, yes once.
        assert set(
            ReadinessDay.objects.exclude(yes=0, answered=0).values_list(
                "day", "item", "yes", "answered"
            )
        ) == {(days[1], "has_smartphone", 0, 1), (days[0], "has_smartphone", 1, 0)}
    finally:
        _migrate(latest)
