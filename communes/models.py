"""The province's administrative units, keyed by their official GSO codes (2023)."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Collate
from django.utils.translation import gettext_lazy as _

from core.models import FoldedNameModel
from core.text import fold


class VietnameseOrder(Collate):
    """Sort a text column in Vietnamese alphabetical order.

    Postgres sorts with the ICU collation the first migration creates ("Đ" after "D",
    "Ư" after "U"). SQLite, the embedded default, knows no such collation and falls back
    to its own order, which is good enough for a trial run.
    """

    def __init__(self, expression):
        super().__init__(expression, "vietnamese")

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.get_source_expressions()[0])


class NamedUnit(FoldedNameModel):
    """What every administrative unit has: an official code and its full official name."""

    code = models.PositiveIntegerField(_("official code"), unique=True)

    class Meta:
        abstract = True
        ordering = [VietnameseOrder("name")]


class Province(NamedUnit):
    class Meta(NamedUnit.Meta):
        verbose_name = _("province")
        verbose_name_plural = _("provinces")


class District(NamedUnit):
    """A district-level unit: a thành phố or a huyện."""

    class Kind(models.TextChoices):
        CITY = "city", _("City")
        RURAL_DISTRICT = "rural_district", _("Rural district")

    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="districts", verbose_name=_("province")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)

    class Meta(NamedUnit.Meta):
        verbose_name = _("district")
        verbose_name_plural = _("districts")


def code_typed(text: str) -> int | None:
    """The official code `text` is, if it is one: a few plain digits.

    Not str.isdigit(), which also accepts digits int() cannot read ("²") and numbers of
    thousands of digits, which int() refuses too.
    """
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


class CommuneQuerySet(models.QuerySet):
    def search(self, text: str) -> "CommuneQuerySet":
        """Communes whose code is `text` or whose name contains it, ignoring diacritics."""
        text = text.strip()
        if not text:
            return self
        query = Q(name_folded__contains=fold(text))
        if (code := code_typed(text)) is not None:
            query |= Q(code=code)
        return self.filter(query)


class Commune(NamedUnit):
    """A commune-level unit: a xã, phường or thị trấn, with the figures the campaign uses."""

    class Kind(models.TextChoices):
        RURAL_COMMUNE = "rural_commune", _("Rural commune")
        WARD = "ward", _("Ward")
        TOWNSHIP = "township", _("Township")

    class NewRuralStatus(models.TextChoices):
        NOT_YET = "not_yet", _("Not yet")
        STANDARD = "standard", _("New-rural standard")
        ADVANCED = "advanced", _("Advanced new-rural")
        MODEL = "model", _("Model new-rural")

    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="communes", verbose_name=_("district")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)

    # Figures are empty until an admin enters them or seed_demo fills them for a trial.
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    working_age_population = models.PositiveIntegerField(
        _("working-age population"), null=True, blank=True
    )
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    enterprises = models.PositiveIntegerField(_("enterprises"), null=True, blank=True)
    new_rural_status = models.CharField(
        _("new-rural status"),
        max_length=20,
        choices=NewRuralStatus.choices,
        blank=True,
        help_text=_("Leave empty for wards and townships, which are outside the programme."),
    )
    new_rural_year = models.PositiveSmallIntegerField(
        _("year the status was reached"),
        null=True,
        blank=True,
        validators=[MinValueValidator(2010), MaxValueValidator(2100)],
    )
    figures_are_demo = models.BooleanField(
        _("figures are demo data"),
        default=False,
        help_text=_("Set by seed_demo; cleared when an admin enters the figures."),
    )

    objects = CommuneQuerySet.as_manager()

    FIGURE_FIELDS = (
        "population",
        "working_age_population",
        "households",
        "enterprises",
        "new_rural_status",
        "new_rural_year",
    )

    class Meta(NamedUnit.Meta):
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        constraints = [
            models.CheckConstraint(
                condition=Q(working_age_population__lte=F("population"))
                | Q(working_age_population__isnull=True)
                | Q(population__isnull=True),
                name="commune_working_age_within_population",
                violation_error_message=_(
                    "The working-age population cannot exceed the population."
                ),
            ),
        ]

    def clean(self) -> None:
        errors = {}
        if (
            self.population is not None
            and self.working_age_population is not None
            and self.working_age_population > self.population
        ):
            errors["working_age_population"] = _(
                "The working-age population cannot exceed the population."
            )
        reached = self.new_rural_status not in ("", self.NewRuralStatus.NOT_YET)
        if self.new_rural_year and not reached:
            errors["new_rural_year"] = _("A year is only given for a status that was reached.")
        if errors:
            raise ValidationError(errors)

    @property
    def figures_empty(self) -> bool:
        return all(getattr(self, f) in (None, "") for f in self.FIGURE_FIELDS)


class Hamlet(FoldedNameModel):
    """A residential area of a commune: thôn, xóm or tổ dân phố."""

    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="hamlets", verbose_name=_("commune")
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        verbose_name = _("hamlet")
        verbose_name_plural = _("hamlets")
        ordering = ["commune__code", VietnameseOrder("name")]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "name_key"],
                name="hamlet_name_unique_in_commune",
                violation_error_message=_("This commune already has a hamlet with this name."),
            ),
        ]
