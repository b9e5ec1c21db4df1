from django import forms
from django.utils.translation import gettext_lazy as _


class HouseholdMergeForm(forms.Form):
    """Two records of one household: the one kept and the one whose visits move to it."""

    keep = forms.ModelChoiceField(queryset=None, label=_("Keep this record"))
    remove = forms.ModelChoiceField(queryset=None, label=_("Merge this record into it"))

    def __init__(self, *args, households, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("keep", "remove"):
            self.fields[name].queryset = households
            self.fields[name].label_from_instance = lambda h: f"{h.address_label} — {h.hamlet}"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("keep") and cleaned.get("keep") == cleaned.get("remove"):
            raise forms.ValidationError(_("Choose two different households."))
        return cleaned
