"""seed_demo's dashboard part: the article's indicators and this year's campaign targets,
added once, then a roll-up of everything."""

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from communes.demo import seed_demo as communes_seed_demo
from communes.models import Commune, District
from dashboard import services
from dashboard.demo import seed_demo
from dashboard.models import (
    CommuneDay,
    CommuneMonth,
    Figure,
    ProvincialIndicator,
    RollupState,
    Target,
    TrainingYear,
)
from dashboard.targets import targets_by_place, targets_for
from outreach.services.facts import facts_check

from .exact import assert_figures_exact


@pytest.fixture
def communes_with_figures(divisions):
    communes_seed_demo(seed=2023, scale=1.0)


def _snapshot():
    indicators = list(ProvincialIndicator.objects.order_by("year").values())
    targets = list(
        Target.objects.order_by("pk").values_list(
            "year", "figure", "district_id", "commune_id", "value", "updated_at"
        )
    )
    return indicators, targets


@pytest.mark.django_db
def test_the_articles_indicators_are_entered_as_real_figures(communes_with_figures):
    seed_demo(seed=2023, scale=1.0)

    indicators = {i.year: i for i in ProvincialIndicator.objects.all()}
    assert set(indicators) == {2020, 2021, 2023}
    assert indicators[2020].dti_rank == 11
    ranks_2021 = indicators[2021]
    assert (
        ranks_2021.dti_rank,
        ranks_2021.dti_government_rank,
        ranks_2021.dti_society_rank,
        ranks_2021.dti_economy_rank,
    ) == (11, 5, 4, 8)
    economy = indicators[2023]
    assert economy.ecommerce_revenue_vnd == 100_000_000_000
    assert (economy.platform_shops, economy.platform_products) == (254, 2_068)
    assert (economy.enterprises_on_platforms, economy.enterprises_econtract) == (3_300, 5_389)
    assert all(not i.is_demo for i in indicators.values())
    assert all("cắm chốt" in i.source for i in indicators.values())


@pytest.mark.django_db
def test_this_years_targets_are_the_campaigns_with_households_split_by_district(
    communes_with_figures,
):
    seed_demo(seed=2023, scale=1.0)

    year = timezone.localdate().year
    assert targets_for(year) == {
        Figure.TEAMS: 2_160,
        Figure.MEMBERS: 16_000,
        Figure.HOUSEHOLDS_REACHED: 600_000,
        Figure.OFFICIALS_TRAINED: 20_000,
    }
    assert Target.objects.filter(year=year, district=None, commune=None).count() == 4
    split = targets_by_place(year, Figure.HOUSEHOLDS_REACHED, "district")
    assert len(split) == 10
    assert sum(split.values()) == 600_000
    # In proportion to the districts' households: the largest district gets the most.
    households = {
        d.pk: sum(c.households for c in Commune.objects.filter(district=d))
        for d in District.objects.all()
    }
    assert max(split, key=split.get) == max(households, key=households.get)
    total = sum(households.values())
    for district_id, value in split.items():
        assert value == pytest.approx(600_000 * households[district_id] / total, abs=1)


@pytest.mark.django_db
def test_a_second_run_changes_nothing(communes_with_figures):
    seed_demo(seed=2023, scale=1.0)
    first = _snapshot()

    lines = seed_demo(seed=9, scale=0.5)

    assert _snapshot() == first
    year = timezone.localdate().year
    assert lines[:2] == [
        "Provincial indicators already present; nothing added.",
        f"Targets for {year} already present; nothing added.",
    ]


@pytest.mark.django_db
def test_what_staff_entered_is_left_alone(communes_with_figures):
    year = timezone.localdate().year
    services.indicator_save(by=None, year=2021, dti_rank=12, source="Sở TT&TT")
    services.target_save(by=None, year=year, figure=Figure.TEAMS, value=2_500)

    seed_demo(seed=2023, scale=1.0)

    corrected = ProvincialIndicator.objects.get(year=2021)
    assert (corrected.dti_rank, corrected.dti_government_rank, corrected.source) == (
        12,
        None,
        "Sở TT&TT",
    )
    assert set(ProvincialIndicator.objects.values_list("year", flat=True)) == {2020, 2021, 2023}
    assert list(Target.objects.values_list("figure", "value")) == [(Figure.TEAMS, 2_500)]


@pytest.mark.django_db
def test_without_commune_households_only_the_province_gets_targets(divisions):
    seed_demo(seed=2023, scale=1.0)
    assert not Target.objects.filter(district__isnull=False).exists()
    assert Target.objects.count() == 4


@pytest.mark.django_db
def test_seed_demo_ends_with_a_full_roll_up_of_the_other_apps_demo_data(divisions):
    call_command("seed_demo", scale=0.02)

    assert ProvincialIndicator.objects.count() == 3
    assert RollupState.objects.get().last_full_at is not None
    assert CommuneDay.objects.filter(visits__gt=0).exists()


@pytest.mark.django_db
def test_after_seed_demo_every_figure_moves_over_the_years_and_is_exact(divisions):
    call_command("seed_demo", scale=0.05)

    # The facts the demo wrote are those the services would have, and the roll-up's
    # figures those of the raw rows.
    assert set(facts_check(repair=False).values()) == {0}
    assert_figures_exact()
    sums = {figure: Sum(figure) for figure in CommuneMonth.FIGURE_FIELDS}
    months = list(CommuneMonth.objects.values("month").annotate(**sums))
    years = {figure: {m["month"].year for m in months if m[figure]} for figure in sums}
    this_year = timezone.localdate().year
    for figure in ("members_joined", "members_left", "zalo_joined", "zalo_left"):
        assert years[figure] >= set(range(2024, this_year + 1)), figure
    assert years["teams_formed"] > {2023}
    assert years["teams_dissolved"]
    assert len({m["month"] for m in months if m["visits"]}) >= 4
    # Officials trained are some of the people trained, wherever they are counted.
    trained = list(
        TrainingYear.objects.values_list(
            "district_id", "commune_id", "people_trained", "officials_trained"
        )
    )
    assert all(officials <= people for _d, _c, people, officials in trained)
    province = [
        (p, o) for district, commune, p, o in trained if district is None and commune is None
    ]
    assert len(province) == 1 and province[0][1] < province[0][0]
