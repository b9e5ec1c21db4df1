"""Each summary table says what its columns are, and the database holds it to its key."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from communes.models import District
from dashboard.models import Computed, TrainingYear

SUMMARIES = [model for model in Computed.__subclasses__() if not model._meta.abstract]


def test_every_summary_table_is_declared():
    assert len(SUMMARIES) == 12


@pytest.mark.parametrize("model", SUMMARIES, ids=lambda m: m.__name__)
def test_keys_and_figures_are_declared_and_the_key_is_unique(model):
    columns = {f.name for f in model._meta.concrete_fields if not f.primary_key}
    keys, figures = set(model.KEY_FIELDS), set(model.FIGURE_FIELDS)
    running = set(model.RUNNING_TOTALS)
    assert keys and figures and not keys & figures and not running & (keys | figures)
    assert keys | figures | running <= columns - {"computed_at"}
    # A running total adds up declared figures.
    for added, removed in model.RUNNING_TOTALS.values():
        assert {added, removed or added} <= figures
    # The other columns follow from the key (a commune's district): never a figure left
    # undeclared.
    for name in columns - keys - figures - running - {"computed_at"}:
        assert model._meta.get_field(name).is_relation, name
    unique = [set(c.fields) for c in model._meta.total_unique_constraints]
    unique += [{f.name} for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    assert keys in unique
    if any(model._meta.get_field(name).null for name in keys):
        on_keys = [c for c in model._meta.constraints if set(getattr(c, "fields", ())) == keys]
        assert [c.nulls_distinct for c in on_keys] == [False]


@pytest.mark.django_db
def test_two_province_rows_of_one_year_are_refused():
    # A province row has neither district nor commune: NULLs must count as equal.
    TrainingYear.objects.create(year=2026, people_trained=1, computed_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingYear.objects.create(year=2026, people_trained=2, computed_at=timezone.now())
    district = District.objects.first()
    TrainingYear.objects.create(
        year=2026, district=district, people_trained=1, computed_at=timezone.now()
    )
