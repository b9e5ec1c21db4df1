"""Reads of the administrative units that pages share."""

from django.db.models import Count, Q, QuerySet

from .models import District, Province


def province_get() -> Province | None:
    """The province the portal serves (the first loaded), or None before load_divisions."""
    return Province.objects.order_by("code").first()


def districts_with_commune_counts(province: Province) -> QuerySet[District]:
    """The province's districts, each with its communes counted by kind, in one query."""
    return District.objects.filter(province=province).annotate(
        commune_count=Count("communes"),
        rural_commune_count=Count("communes", filter=Q(communes__kind="rural_commune")),
        ward_count=Count("communes", filter=Q(communes__kind="ward")),
        township_count=Count("communes", filter=Q(communes__kind="township")),
    )
