"""The dashboard's part of seed_demo: the province's reported indicators, this year's
campaign targets, and a full roll-up of everything the other apps' demos added.

The indicators and the province's targets are the real figures of the source article
(../shared/DOMAIN.md), not generated, so they are not marked as demo. Only the split of
the households target to the districts is derived, in proportion to the households of
each district's communes (which on a trial site are demo figures themselves).

Nothing a user entered is touched: a year's indicators are added only if that year has
none, and targets only if the current year has none at all, so a second run adds
nothing. seed_demo runs the apps in the order of INSTALLED_APPS, the dashboard last, so
the roll-up at the end sees every demo row.
"""

from importlib.util import find_spec

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from communes.models import District

from . import services
from .models import Figure, ProvincialIndicator, Target
from .targets import BUILTIN_TARGETS

ARTICLE = "Bài “Kỳ II: Đưa cán bộ công nghệ “cắm chốt” phổ cập kỹ năng số”, Nguyễn Hương (2023)"

# Year -> the indicators the article gives for it. The DTI ranks are dated (2020, 2021);
# the digital-economy figures are not, so they go under the year the article appeared.
INDICATORS: dict[int, dict] = {
    2020: {
        "dti_rank": 11,
        "source": f"Xếp hạng DTI của Bộ TT&TT, theo {ARTICLE}.",
    },
    2021: {
        "dti_rank": 11,
        "dti_government_rank": 5,
        "dti_society_rank": 4,
        "dti_economy_rank": 8,
        "source": f"Xếp hạng DTI của Bộ TT&TT, theo {ARTICLE}.",
    },
    2023: {
        # "ước đạt 100 tỷ đồng", estimated from postal and delivery revenue.
        "ecommerce_revenue_vnd": 100_000_000_000,
        "platform_shops": 254,
        "platform_products": 2_068,
        # "trên 3.300" and "gần 5.389": more than, and nearly.
        "enterprises_on_platforms": 3_300,
        "enterprises_econtract": 5_389,
        "source": (
            f"{ARTICLE}. Doanh thu thương mại điện tử ước tính theo doanh thu bưu chính "
            "và chuyển phát; bài không ghi năm của số liệu."
        ),
    },
}


def _split(total: int, weights: dict[int, int]) -> dict[int, int]:
    """`total` shared in proportion to the weights, whole numbers adding up to it
    (the largest remainders get the units left over)."""
    weight_sum = sum(weights.values())
    exact = {key: total * weight / weight_sum for key, weight in weights.items()}
    parts = {key: int(value) for key, value in exact.items()}
    leftover = total - sum(parts.values())
    for key in sorted(exact, key=lambda k: (parts[k] - exact[k], k))[:leftover]:
        parts[key] += 1
    return parts


def _indicators() -> str:
    entered = set(ProvincialIndicator.objects.values_list("year", flat=True))
    added = [year for year in INDICATORS if year not in entered]
    for year in added:
        services.indicator_save(by=None, year=year, **INDICATORS[year])
    if not added:
        return "Provincial indicators already present; nothing added."
    return f"Provincial indicators from the source article: {', '.join(map(str, added))}."


def _targets(year: int) -> str:
    if Target.objects.filter(year=year).exists():
        return f"Targets for {year} already present; nothing added."
    for figure, value in BUILTIN_TARGETS.items():
        services.target_save(by=None, year=year, figure=figure, value=value)
    households = dict(
        District.objects.filter(communes__households__isnull=False)
        .annotate(households=Sum("communes__households"))
        .values_list("pk", "households")
    )
    if not households:
        return f"Province targets for {year}; no commune households to split them by."
    split = _split(BUILTIN_TARGETS[Figure.HOUSEHOLDS_REACHED], households)
    services.targets_split(
        by=None, year=year, figure=Figure.HOUSEHOLDS_REACHED, level="district", values=split
    )
    return (
        f"Province targets for {year}, households reached split to {len(split)} districts "
        "by their households."
    )


def _rollup() -> str:
    # The roll-up arrives with the same issue; until it does, seed_demo still works.
    if find_spec("dashboard.rollup") is None:
        return "No roll-up yet: dashboard figures not computed."
    from . import rollup

    if not hasattr(rollup, "rollup_full"):
        return "No roll-up yet: dashboard figures not computed."
    result = rollup.rollup_full()
    return f"Dashboard figures computed ({getattr(result, 'cells', 0):,} place-days)."


@transaction.atomic
def seed_demo(*, seed: int, scale: float = 1.0) -> list[str]:
    """Add the indicators and this year's targets where missing, then roll up everything.

    The figures are the article's, the same whatever the seed and scale.
    """
    return [_indicators(), _targets(timezone.localdate().year), _rollup()]
