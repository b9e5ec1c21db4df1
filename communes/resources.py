"""CSV/XLSX import and export of the administrative units (django-import-export, made
like every admin file of the portal by core/admin_files.py).

An import is all-or-nothing: the admin previews it, every bad cell is listed with its row,
column and value, and nothing is saved unless every row is good. A unit named twice
within one file is an error, not a silent second update. A commune's figures are saved
through the same service as the admin's form, which marks what the dashboards show.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, widgets

from core.admin_files import CELL, ChoiceWidget, PortalResource, spreadsheet_row
from core.text import name_key

from .models import Commune, District, Hamlet, Province
from .services import commune_save


class UnitByCodeWidget(widgets.ForeignKeyWidget):
    """A parent unit given by its official code, with a readable error when unknown."""

    def __init__(self, model):
        super().__init__(model, field="code")

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except (self.model.DoesNotExist, ValueError, TypeError, ArithmeticError):
            raise ValueError(
                _("Unknown %(unit)s code: %(code)s.")
                % {"unit": self.model._meta.verbose_name, "code": value}
            ) from None


# The words provinces write in their own lists.
DISTRICT_KIND_WORDS = {"thành phố": District.Kind.CITY, "huyện": District.Kind.RURAL_DISTRICT}
COMMUNE_KIND_WORDS = {
    "xã": Commune.Kind.RURAL_COMMUNE,
    "phường": Commune.Kind.WARD,
    "thị trấn": Commune.Kind.TOWNSHIP,
}


class UniqueInFileResource(PortalResource):
    """Refuses a file that names the same unit twice."""

    file_key_field = "code"

    class Meta(PortalResource.Meta):
        pass

    def file_key(self, row) -> str | None:
        value = row.get("code")
        return None if value in (None, "") else str(value).strip()

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._rows_by_key: dict[str, int] = {}

    def before_import_row(self, row, row_number=None, **kwargs):
        key = self.file_key(row)
        if key is None:
            return
        first = self._rows_by_key.setdefault(key, row_number)
        if first != row_number:
            message = _("Row %(row)d already names this unit.") % {"row": spreadsheet_row(first)}
            raise ValidationError({self.file_key_field: ValidationError(message, code=CELL)})


class ProvinceResource(UniqueInFileResource):
    class Meta(UniqueInFileResource.Meta):
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
    column_labels = {"province": gettext_lazy("province code")}

    class Meta(UniqueInFileResource.Meta):
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
    column_labels = {"district": gettext_lazy("district code")}

    class Meta(UniqueInFileResource.Meta):
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
    column_labels = {"commune": gettext_lazy("commune code")}

    class Meta(UniqueInFileResource.Meta):
        model = Hamlet
        fields = ("id", "commune", "name", "is_active")

    file_key_field = "name"

    def file_key(self, row) -> str | None:
        if not row.get("name"):
            return None
        # "xóm Đồng" and "xóm Đông" are two hamlets; "Xóm Đồng" and "xóm đồng" are one.
        return f"{row.get('commune')}/{name_key(str(row['name']))}"
