"""The dashboards' filter bar: the period, and on the overview the district.

The filters live in the URL (a GET form), so a page can be bookmarked, shared and
exported with the same figures. Input that does not validate is shown with its error
and left out: the page then shows the default, this year.
"""

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import PlainDateInput, PlainSelect

from .selectors import DistrictUnit, Period, PeriodKind, period_current, period_custom

EARLIEST = date(2020, 1, 1)


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"), choices=PeriodKind.choices, required=False, widget=PlainSelect
    )
    # Day-first typing (31/12/2026) works as in every form of the portal; the date
    # picker sends 2026-12-31, which is accepted too.
    start = forms.DateField(
        label=_("From"),
        required=False,
        widget=PlainDateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("For a custom range."),
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        widget=PlainDateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    district = forms.TypedChoiceField(
        label=_("District"), coerce=int, required=False, empty_value=None, widget=PlainSelect
    )

    def __init__(self, data, *, today: date, districts: list[DistrictUnit] | None = None):
        """`districts`: the districts to filter by, or None for a page without that filter."""
        data = data.copy()
        if not data.get("period"):
            data["period"] = PeriodKind.YEAR
        for name in ("start", "end"):
            # The date picker shows only an ISO date: give it back what was typed, so.
            try:
                typed = self.base_fields[name].to_python(data.get(name))
            except forms.ValidationError:
                continue
            if typed is not None:
                data[name] = typed.isoformat()
        super().__init__(data)
        self.today = today
        if districts is None:
            del self.fields["district"]
        else:
            self.fields["district"].choices = [
                ("", _("All districts")),
                *((d.code, d.name) for d in districts),
            ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") != PeriodKind.CUSTOM:
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is None and "start" not in self.errors:
            self.add_error("start", _("Give the first day of the range."))
        if end is None and "end" not in self.errors:
            self.add_error("end", _("Give the last day of the range."))
        if start and start < EARLIEST:
            self.add_error("start", _("The campaign's figures start in 2020."))
        if start and start > self.today:
            self.add_error("start", _("The period starts after today: there are no figures yet."))
        if start and end and end < start:
            self.add_error("end", _("The end of the period is before its start."))
        return cleaned

    def chosen_period(self) -> Period:
        """The period asked for, or this year when what was typed does not validate."""
        self.is_valid()
        if any(name in self.errors for name in ("period", "start", "end")):
            return period_current(PeriodKind.YEAR, self.today)
        data = self.cleaned_data
        if data["period"] == PeriodKind.CUSTOM:
            return period_custom(data["start"], data["end"], self.today)
        return period_current(data["period"], self.today)

    def chosen_district(self) -> int | None:
        """The code of the district asked for, if the page has the filter and it is valid."""
        if "district" not in self.fields:
            return None
        self.is_valid()
        if "district" in self.errors:
            return None
        return self.cleaned_data.get("district")
