"""Forms of the pages where teams, their members and the commune's hamlets are kept.

The forms only validate what was typed. The team, the commune and every choice come
from querysets the views build from the user's scope, never from hidden fields; the
services check permission and scope again when they write.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from communes.models import Hamlet
from core.fields import WholeNumberField
from core.phone import clean_phone as cleaned_phone

from ..models import Member, Team


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _not_in_future(day, message):
    if day and day > timezone.localdate():
        raise ValidationError(message)
    return day


# --- Teams ---------------------------------------------------------------------------


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=100)
    hamlet = forms.ModelChoiceField(
        label=_("Hamlet"),
        queryset=Hamlet.objects.none(),
        required=False,
        empty_label=_("The whole commune"),
        help_text=_("The residential area the team is formed in, if it is one."),
    )
    formed_on = forms.DateField(label=_("Formed on"), widget=_date_input())

    def __init__(self, *args, hamlets: QuerySet[Hamlet], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hamlet"].queryset = hamlets

    def clean_formed_on(self):
        return _not_in_future(
            self.cleaned_data["formed_on"], _("A team cannot be formed in the future.")
        )


class TeamDissolveForm(forms.Form):
    MOVE = "move"
    LEAVE = "leave"

    dissolved_on = forms.DateField(label=_("Dissolved on"), widget=_date_input())
    members = forms.ChoiceField(
        label=_("What becomes of its active members?"),
        choices=[
            (MOVE, _("They move to another team of the commune")),
            (LEAVE, _("They leave the team on the day it is dissolved")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what becomes of the members.")},
    )
    members_to = forms.ModelChoiceField(
        label=_("The team they move to"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("Choose a team"),
        help_text=_(
            "The leader stays leader there if that team has none; otherwise they become a "
            "member and their login stops working."
        ),
    )

    def __init__(
        self, *args, teams: QuerySet[Team] | None = None, has_members: bool = True, **kwargs
    ):
        """`teams` are the teams the members may move to; a team without active members
        is dissolved without asking about them."""
        super().__init__(*args, **kwargs)
        if not has_members:
            del self.fields["members"], self.fields["members_to"]
        elif teams is None or not teams.exists():
            # Nowhere to move to: leaving is the only answer, so it is given.
            del self.fields["members_to"]
            self.fields["members"].choices = [
                c for c in self.fields["members"].choices if c[0] == self.LEAVE
            ]
            self.fields["members"].initial = self.LEAVE
        else:
            self.fields["members_to"].queryset = teams

    def clean_dissolved_on(self):
        return _not_in_future(
            self.cleaned_data["dissolved_on"], _("Choose today or a day in the past.")
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("members") != self.MOVE:
            cleaned["members_to"] = None
        elif cleaned.get("members_to") is None and "members_to" not in self.errors:
            self.add_error("members_to", _("Choose the team they move to."))
        return cleaned


# --- Members -------------------------------------------------------------------------


def _member_field(name: str, **kwargs) -> forms.Field:
    """The form field of a Member model field: its label, choices and help text."""
    return Member._meta.get_field(name).formfield(**kwargs)


class MemberForm(forms.Form):
    full_name = _member_field("full_name")
    phone = forms.CharField(
        label=_("Phone"),
        # What people type: "+84 912 345 678" is longer than the ten digits stored.
        max_length=20,
        required=False,
        help_text=Member._meta.get_field("phone").help_text,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    role = _member_field("role")
    gender = _member_field("gender")
    birth_year = _member_field(
        "birth_year",
        form_class=WholeNumberField,
        min_value=1920,
        max_value=2015,
        widget=forms.NumberInput(),
    )
    affiliation = _member_field("affiliation")
    is_youth_union_member = _member_field("is_youth_union_member")
    on_zalo_oa = _member_field("on_zalo_oa")
    zalo_joined_on = _member_field("zalo_joined_on", widget=_date_input())
    joined_on = _member_field("joined_on", widget=_date_input())
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        help_text=_("Move the member to another team of the commune."),
    )

    # The order the page shows them in: what is needed first, the details after.
    field_order = [
        "full_name",
        "phone",
        "role",
        "team",
        "joined_on",
        "gender",
        "birth_year",
        "affiliation",
        "is_youth_union_member",
        "on_zalo_oa",
        "zalo_joined_on",
    ]

    def __init__(self, *args, teams: QuerySet[Team] | None = None, **kwargs):
        """`teams` are the teams the member may be moved to; None when they may not move."""
        super().__init__(*args, **kwargs)
        if teams is None:
            del self.fields["team"]
        else:
            self.fields["team"].queryset = teams

    def clean_phone(self) -> str:
        return cleaned_phone(self.cleaned_data["phone"], field=None)

    def clean_joined_on(self):
        return _not_in_future(
            self.cleaned_data["joined_on"], _("Choose today or a day in the past.")
        )

    def clean(self):
        cleaned = super().clean()
        # A date of joining says they joined: tick the box rather than refuse the form.
        if cleaned.get("zalo_joined_on"):
            cleaned["on_zalo_oa"] = True
        return cleaned

    def member_fields(self) -> dict:
        """The cleaned values the member services take (everything but the team)."""
        return {k: v for k, v in self.cleaned_data.items() if k != "team"}


class MemberDeactivateForm(forms.Form):
    left_on = forms.DateField(label=_("Left on"), widget=_date_input())

    def clean_left_on(self):
        return _not_in_future(self.cleaned_data["left_on"], _("Choose today or a day in the past."))


# --- Hamlets -------------------------------------------------------------------------


class HamletForm(forms.Form):
    name = forms.CharField(
        label=_("Hamlet name"),
        max_length=100,
        help_text=_("As people call it: thôn, xóm or tổ dân phố and its name or number."),
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("An inactive hamlet is no longer offered for new teams and households."),
    )

    def __init__(self, *args, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            # A new hamlet is active; deactivating is an edit.
            del self.fields["is_active"]
