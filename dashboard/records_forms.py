"""Forms of the pages where provincial staff keep the targets and the indicators.

They validate what was typed; the services check permission and store.
"""

from decimal import Decimal

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from communes.models import Commune, District, VietnameseOrder
from core.fields import WholeNumberField
from trainings.forms.sessions import CommuneChoiceField

from .models import Figure, ProvincialIndicator

YEARS = (2020, 2100)
RANKS = (1, 63)
BILLION = 1_000_000_000


def _number_input(**attrs) -> forms.NumberInput:
    return forms.NumberInput(attrs={"inputmode": "numeric", **attrs})


def _year_field(**kwargs) -> WholeNumberField:
    return WholeNumberField(
        label=_("Year"),
        min_value=YEARS[0],
        max_value=YEARS[1],
        widget=_number_input(),
        **kwargs,
    )


def _districts() -> QuerySet[District]:
    return District.objects.order_by("code")


class TargetForm(forms.Form):
    """A target for the province, a district or a commune."""

    year = _year_field()
    figure = forms.ChoiceField(label=_("Figure"), choices=Figure.choices)
    district = forms.ModelChoiceField(
        label=_("District"),
        queryset=District.objects.none(),
        required=False,
        empty_label=_("The whole province"),
    )
    commune = CommuneChoiceField(
        label=_("Commune"),
        queryset=Commune.objects.none(),
        required=False,
        empty_label=_("No commune"),
        help_text=_("For a commune's target, choose the commune and leave the district empty."),
    )
    value = WholeNumberField(label=_("Target"), min_value=1, widget=_number_input(min=1))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = _districts()
        self.fields["commune"].queryset = Commune.objects.select_related("district").order_by(
            "district__code", VietnameseOrder("name")
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("district") and cleaned.get("commune"):
            self.add_error(
                "commune",
                _("A target is for a district or a commune: leave one of them empty."),
            )
        return cleaned


class SplitChoiceForm(forms.Form):
    """Which target to split: a year's figure, to the districts or to one district's communes."""

    year = _year_field()
    figure = forms.ChoiceField(label=_("Figure"), choices=Figure.choices)
    district = forms.ModelChoiceField(
        label=_("Split to"),
        queryset=District.objects.none(),
        required=False,
        empty_label=_("The province's districts"),
        help_text=_("Choose a district to split its target to its communes."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = _districts()
        # Offered as "the communes of <district>", so the choice reads as the sentence.
        self.fields["district"].label_from_instance = lambda district: (
            _("The communes of %(district)s") % {"district": district.name}
        )


class SplitForm(forms.Form):
    """One number for each district, or each commune of a district; empty means none."""

    def __init__(self, *args, places: list, initial_values: dict[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.places = places
        for place in places:
            self.fields[f"place_{place.pk}"] = WholeNumberField(
                label=place.name,
                required=False,
                min_value=0,
                initial=initial_values.get(place.pk),
                widget=_number_input(min=0),
            )

    def values(self) -> dict[int, int | None]:
        return {place.pk: self.cleaned_data[f"place_{place.pk}"] for place in self.places}

    def rows(self):
        """(place, bound field) for each place, for the template's table."""
        return [(place, self[f"place_{place.pk}"]) for place in self.places]


def billions(vnd: int) -> Decimal:
    """An amount in đồng as billions, without trailing zeros (100, not 100.000 or 1E+2)."""
    value = Decimal(vnd) / BILLION
    return value.to_integral() if value == value.to_integral() else value.normalize()


def _rank_field(label) -> WholeNumberField:
    return WholeNumberField(
        label=label,
        required=False,
        min_value=RANKS[0],
        max_value=RANKS[1],
        widget=_number_input(min=RANKS[0], max=RANKS[1]),
        help_text=_("Among the 63 provinces and cities."),
    )


def _count_field(label) -> WholeNumberField:
    return WholeNumberField(label=label, required=False, min_value=0, widget=_number_input(min=0))


def _label(name: str):
    return ProvincialIndicator._meta.get_field(name).verbose_name


class IndicatorForm(forms.Form):
    """A year's provincial indicators. E-commerce revenue is typed in billions of đồng,
    as it is reported, and stored in đồng."""

    year = _year_field()
    dti_rank = _rank_field(_label("dti_rank"))
    dti_government_rank = _rank_field(_label("dti_government_rank"))
    dti_society_rank = _rank_field(_label("dti_society_rank"))
    dti_economy_rank = _rank_field(_label("dti_economy_rank"))
    ecommerce_revenue = forms.DecimalField(
        label=_("E-commerce revenue (billion VND)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "min": 0, "step": "any"}),
    )
    platform_shops = _count_field(_label("platform_shops"))
    platform_products = _count_field(_label("platform_products"))
    enterprises_on_platforms = _count_field(_label("enterprises_on_platforms"))
    enterprises_econtract = _count_field(_label("enterprises_econtract"))
    source = forms.CharField(
        label=_label("source"),
        required=False,
        max_length=300,
        help_text=_("Where the figures come from: a report, an article, a decision."),
    )

    def __init__(self, *args, indicator: ProvincialIndicator | None = None, **kwargs):
        if indicator is not None:
            kwargs.setdefault("initial", self.initial_from(indicator))
        super().__init__(*args, **kwargs)
        if indicator is not None:
            # A year's figures are corrected in place; the year itself stays.
            del self.fields["year"]

    @staticmethod
    def initial_from(indicator: ProvincialIndicator) -> dict:
        initial = {
            name: getattr(indicator, name)
            for name in IndicatorForm.base_fields
            if name not in ("year", "ecommerce_revenue")
        }
        if indicator.ecommerce_revenue_vnd is not None:
            initial["ecommerce_revenue"] = billions(indicator.ecommerce_revenue_vnd)
        return initial

    def indicator_fields(self) -> dict:
        """The cleaned values as the service takes them."""
        values = {k: v for k, v in self.cleaned_data.items() if k != "year"}
        revenue = values.pop("ecommerce_revenue")
        values["ecommerce_revenue_vnd"] = None if revenue is None else int(revenue * BILLION)
        return values
