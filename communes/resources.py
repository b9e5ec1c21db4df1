"""CSV/XLSX import and export of the administrative units (django-import-export).

An import is all-or-nothing: the admin previews it, every bad row is listed with its
number and reason, and nothing is saved unless every row is good. A code repeated
within one file is an error, not a silent second update.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from core.text import fold, name_key

from .models import Commune, District, Hamlet, Province
from .services import commune_save


class UnitByCodeWidget(widgets.ForeignKeyWidget):
    """A parent unit given by its official code, with a readable error when unknown."""

    def __init__(self, model):
        super().__init__(model, field="code")

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except (self.model.DoesNotExist, ValueError, TypeError):
            raise ValueError(
                _("Unknown %(unit)s code: %(code)s.")
                % {"unit": self.model._meta.verbose_name, "code": value}
            ) from None


class ChoiceWidget(widgets.Widget):
    """A choice given by its key, its label or a Vietnamese word, in any case or accents."""

    def __init__(self, choices, aliases: dict[str, str] | None = None):
        super().__init__()
        self.choices = choices
        self.aliases = {fold(word): key for word, key in (aliases or {}).items()}

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return ""
        wanted = fold(str(value))
        if wanted in self.aliases:
            return self.aliases[wanted]
        for key, label in self.choices:
            if wanted in (fold(key), fold(str(label))):
                return key
        allowed = ", ".join(key for key, _label in self.choices)
        raise ValueError(
            _("“%(value)s” is not one of: %(allowed)s.") % {"value": value, "allowed": allowed}
        )

    def render(self, value, obj=None, **kwargs):
        return value or ""


# The words provinces write in their own lists.
DISTRICT_KIND_WORDS = {"thành phố": District.Kind.CITY, "huyện": District.Kind.RURAL_DISTRICT}
COMMUNE_KIND_WORDS = {
    "xã": Commune.Kind.RURAL_COMMUNE,
    "phường": Commune.Kind.WARD,
    "thị trấn": Commune.Kind.TOWNSHIP,
}


class UniqueInFileResource(resources.ModelResource):
    """Refuses a file that names the same unit twice."""

    file_key_field = "code"

    class Meta:
        # Rows go through full_clean(), so the model's validation names each bad row.
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def file_key(self, row) -> str | None:
        value = row.get("code")
        return None if value in (None, "") else str(value).strip()

    def before_import(self, dataset, **kwargs):
        self._rows_by_key: dict[str, int] = {}

    def before_import_row(self, row, row_number=None, **kwargs):
        key = self.file_key(row)
        if key is None:
            return
        first = self._rows_by_key.setdefault(key, row_number)
        if first != row_number:
            raise ValidationError(
                {
                    self.file_key_field: _(
                        "%(key)s is repeated in this file (first on row %(row)s)."
                    )
                    % {"key": key, "row": first}
                }
            )


class ProvinceResource(UniqueInFileResource):
    class Meta:
        model = Province
        fields = ("code", "name")
        import_id_fields = ("code",)


class DistrictResource(UniqueInFileResource):
    province = fields.Field(
        attribute="province", column_name="province", widget=UnitByCodeWidget(Province)
    )
    kind = fields.Field(
        attribute="kind",
        column_name="kind",
        widget=ChoiceWidget(District.Kind.choices, aliases=DISTRICT_KIND_WORDS),
    )

    class Meta:
        model = District
        fields = ("code", "name", "kind", "province")
        import_id_fields = ("code",)


class CommuneResource(UniqueInFileResource):
    district = fields.Field(
        attribute="district", column_name="district", widget=UnitByCodeWidget(District)
    )
    kind = fields.Field(
        attribute="kind",
        column_name="kind",
        widget=ChoiceWidget(Commune.Kind.choices, aliases=COMMUNE_KIND_WORDS),
    )
    new_rural_status = fields.Field(
        attribute="new_rural_status",
        column_name="new_rural_status",
        widget=ChoiceWidget(Commune.NewRuralStatus.choices),
    )

    class Meta:
        model = Commune
        fields = ("code", "name", "kind", "district", *Commune.FIGURE_FIELDS)
        import_id_fields = ("code",)

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._figures_in_file = any(f in (dataset.headers or ()) for f in Commune.FIGURE_FIELDS)

    def do_instance_save(self, instance, is_create):
        # Same write path as the admin form: figures from a file are entered figures.
        commune_save(commune=instance, figures_entered=self._figures_in_file)


class HamletResource(UniqueInFileResource):
    commune = fields.Field(
        attribute="commune", column_name="commune", widget=UnitByCodeWidget(Commune)
    )

    class Meta:
        model = Hamlet
        fields = ("id", "commune", "name", "is_active")

    file_key_field = "name"

    def file_key(self, row) -> str | None:
        if not row.get("name"):
            return None
        # "xóm Đồng" and "xóm Đông" are two hamlets; "Xóm Đồng" and "xóm đồng" are one.
        return f"{row.get('commune')}/{name_key(str(row['name']))}"
