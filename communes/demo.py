"""Demo figures and hamlets for communes whose figures are empty.

The figures are generated, not real: they add up to about the province's 1.9 million
residents and 600,000 households (../shared/DOMAIN.md) and are marked as demo data.
"""

import random

from django.db import transaction

from core.signals import bulk_written

from .models import Commune, Hamlet

PROVINCE_POPULATION = 1_900_000
PROVINCE_ENTERPRISES = 10_000
# Wards are denser than rural communes, townships in between.
KIND_WEIGHT = {"ward": 1.6, "township": 1.3, "rural_commune": 1.0}
HAMLET_PREFIX = {"ward": "Tổ dân phố", "township": "Tổ dân phố", "rural_commune": "Thôn"}


def _demo_figures(communes: list[Commune], seed: int) -> dict[int, dict]:
    """Figures for every commune, drawn in code order so each one's are fixed by the seed."""
    rng = random.Random(f"communes:{seed}")
    draws = {}
    for c in sorted(communes, key=lambda c: c.code):
        draws[c.code] = {
            "weight": KIND_WEIGHT[c.kind] * rng.uniform(0.6, 1.4),
            "household_size": rng.uniform(3.0, 3.35),
            "working_share": rng.uniform(0.55, 0.61),
            "enterprise_share": rng.uniform(0.5, 1.5) * KIND_WEIGHT[c.kind] ** 2,
            "status_draw": rng.random(),
            "year_draw": rng.random(),
            "hamlets": rng.randint(3, 6),
        }
    total_weight = sum(d["weight"] for d in draws.values())
    total_enterprise = sum(d["weight"] * d["enterprise_share"] for d in draws.values())
    figures = {}
    for c in communes:
        d = draws[c.code]
        population = round(PROVINCE_POPULATION * d["weight"] / total_weight)
        status, year = "", None
        if c.kind == Commune.Kind.RURAL_COMMUNE:
            # Every rural commune of Nam Định reached the standard; some went further.
            if d["status_draw"] < 0.10:
                status, year = Commune.NewRuralStatus.MODEL, 2022 + int(d["year_draw"] * 4)
            elif d["status_draw"] < 0.40:
                status, year = Commune.NewRuralStatus.ADVANCED, 2020 + int(d["year_draw"] * 5)
            else:
                status, year = Commune.NewRuralStatus.STANDARD, 2012 + int(d["year_draw"] * 8)
        figures[c.code] = {
            "population": population,
            "working_age_population": round(population * d["working_share"]),
            "households": round(population / d["household_size"]),
            "enterprises": round(
                PROVINCE_ENTERPRISES * d["weight"] * d["enterprise_share"] / total_enterprise
            ),
            "new_rural_status": status,
            "new_rural_year": year,
            "hamlet_count": d["hamlets"],
        }
    return figures


@transaction.atomic
def seed_demo(*, seed: int, scale: float = 1.0) -> list[str]:
    """Fill demo figures and hamlets where a commune has none; return lines to print."""
    communes = list(Commune.objects.all())
    figures = _demo_figures(communes, seed)
    filled = []
    for commune in communes:
        if not commune.figures_empty:
            continue
        values = figures[commune.code]
        for field in Commune.FIGURE_FIELDS:
            setattr(commune, field, values[field])
        commune.figures_are_demo = True
        # Only the figures change: their fields are checked here and their constraints by
        # the database; the code, the name and the district (a query each) are as loaded.
        commune.full_clean(exclude=["district"], validate_unique=False, validate_constraints=False)
        filled.append(commune)
    Commune.objects.bulk_update(filled, [*Commune.FIGURE_FIELDS, "figures_are_demo"])
    # Bulk writes send no post_save: what is cached of communes and hamlets is renewed by
    # these (core.signals).
    bulk_written.send(sender=Commune)
    with_hamlets = set(Hamlet.objects.values_list("commune_id", flat=True).distinct())
    new_hamlets = []
    for commune in communes:
        if commune.pk in with_hamlets:
            continue
        prefix = HAMLET_PREFIX[commune.kind]
        for n in range(1, figures[commune.code]["hamlet_count"] + 1):
            name = f"{prefix} {n}"
            hamlet = Hamlet(commune=commune, name=name, is_demo=True)
            hamlet.derive()  # bulk_create does not call save()
            new_hamlets.append(hamlet)
    Hamlet.objects.bulk_create(new_hamlets)
    bulk_written.send(sender=Hamlet)
    return [
        f"Demo figures filled for {len(filled)} communes; {len(new_hamlets)} demo hamlets added."
    ]
