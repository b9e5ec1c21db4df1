"""The team leader's visit form (the visit list's filters are outreach.filters.VisitFilter)."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from communes.models import Hamlet
from core.fields import (
    ListedModelChoiceField,
    ListedModelMultipleChoiceField,
    WholeNumberField,
)
from core.forms import errors_to_form

from ..models import READINESS_FIELDS, Household, Member, Service, Team, Visit
from ..selectors import (
    VisitChoices,
    hamlets_visible,
    members_visible,
    services_active,
    visit_choices,
)
from ..services.households import NOT_LOOKED_UP, household_at
from ..services.visits import VisitData, visit_outcome_errors

# How a readiness answer travels in the form: the checklist stores yes, no or not known.
YES, NO, NOT_ASKED = "yes", "no", ""
READINESS_CHOICES = [(YES, _("Yes")), (NO, _("No")), (NOT_ASKED, _("Not asked"))]
_ANSWER_VALUES = {YES: True, NO: False, NOT_ASKED: None}
_VALUE_ANSWERS = {v: k for k, v in _ANSWER_VALUES.items()}

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class HamletChoiceField(ListedModelChoiceField):
    """A hamlet, named with its commune when the list spans several communes."""

    def __init__(self, *args, with_commune: bool = False, **kwargs):
        self.with_commune = with_commune
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Hamlet) -> str:
        return f"{obj.commune.name} — {obj.name}" if self.with_commune else obj.name


class MemberChoiceField(forms.ModelChoiceField):
    """A member, named with their team when the list spans several teams."""

    def __init__(self, *args, with_team: bool = False, **kwargs):
        self.with_team = with_team
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Member) -> str:
        return f"{obj.full_name} — {obj.team.name}" if self.with_team else obj.full_name


class VisitForm(forms.Form):
    """One door-to-door visit, as a team leader types it on a phone.

    The team is never a field: the view passes the leader's team (or, when editing, the
    visit's own), and every choice list is limited to that team and its commune.
    """

    visited_on = forms.DateField(label=_("Day of the visit"), widget=DATE_WIDGET)
    hamlet = HamletChoiceField(
        label=_("Hamlet"),
        queryset=Hamlet.objects.none(),
        empty_label=_("Choose the hamlet"),
        error_messages={
            "invalid_choice": _("This hamlet is no longer on the commune's list: choose it again.")
        },
    )
    address_label = forms.CharField(
        label=_("Address"),
        max_length=200,
        help_text=_("House number and alley. A household visited before is found by its address."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "household-options"}),
    )
    head_name = forms.CharField(
        label=_("Head of household (if new)"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    members = ListedModelMultipleChoiceField(
        label=_("Who went"),
        queryset=Member.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose who went."),
            # Most often a member who has left the team since the page (or the phone's
            # kept visit) was made: said in words, not by the member's number.
            "invalid_choice": _(
                "Someone you chose is no longer a member of the team: choose who went again."
            ),
        },
    )
    residents_helped = WholeNumberField(
        label=_("Residents helped"),
        min_value=0,
        max_value=50,
        initial=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    services = ListedModelMultipleChoiceField(
        label=_("What you helped with"),
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=Visit.Outcome.choices,
        initial=Visit.Outcome.HELPED,
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        label=_("Notes"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self,
        *args,
        team: Team,
        user: User,
        visit: Visit | None = None,
        choices: VisitChoices | None = None,
        **kwargs,
    ):
        """`choices`: the team's cached choices (selectors.visit_choices), which a new
        visit's form offers and validates against without a query; without them, the
        choices are queried within the user's scope."""
        super().__init__(*args, **kwargs)
        self.team = team
        if choices is not None:
            self.fields["hamlet"].list_choices(choices.hamlets)
            self.fields["members"].list_choices(choices.members)
            self.fields["services"].list_choices(choices.services)
        else:
            hamlets = hamlets_visible(user).filter(commune_id=team.commune_id)
            members = members_visible(user).filter(team=team)
            if visit is None:
                hamlets = hamlets.filter(is_active=True)
                members = members.filter(is_active=True)
            else:
                # An edited visit shows its own hamlet and members even if they were
                # retired since, rather than silently dropping them from the record.
                hamlets = hamlets.filter(Q(is_active=True) | Q(pk=visit.household.hamlet_id))
                members = members.filter(
                    Q(is_active=True) | Q(pk__in=[m.pk for m in visit.members.all()])
                )
            self.fields["hamlet"].queryset = hamlets
            self.fields["members"].queryset = members
            self.fields["services"].queryset = services_active()
        # The phone's date picker then offers only days the service accepts.
        self.fields["visited_on"].widget.attrs.update(
            min=team.formed_on.isoformat(), max=timezone.localdate().isoformat()
        )
        for item in READINESS_FIELDS:
            self.fields[item] = forms.TypedChoiceField(
                label=capfirst(Visit._meta.get_field(item).verbose_name),
                choices=READINESS_CHOICES,
                coerce=_ANSWER_VALUES.get,
                empty_value=None,
                required=False,
                initial=NOT_ASKED,
                widget=forms.RadioSelect,
            )

    def clean(self):
        data = super().clean()
        # The outcome's rule, as the service applies it, beside the fields that break
        # it; only once the fields it reads are valid, so that each error says one thing.
        if all(name in data for name in ("outcome", "residents_helped", "services")):
            contradictions = visit_outcome_errors(
                outcome=data["outcome"],
                residents_helped=data["residents_helped"],
                services=data["services"],
                readiness={item: data.get(item) for item in READINESS_FIELDS},
            )
            for name, message in contradictions.items():
                self.add_error(name, message)
        return data

    def readiness_fields(self):
        """The checklist's bound fields, for the template's own section."""
        return [self[item] for item in READINESS_FIELDS]

    def offers_hamlets(self) -> bool:
        """Whether the commune has a hamlet to choose (the page says whom to ask if not)."""
        return self.fields["hamlet"].offers_any()

    def visit_data(self) -> VisitData:
        data = self.cleaned_data
        return VisitData(
            visited_on=data["visited_on"],
            members=list(data["members"]),
            services=list(data["services"]),
            residents_helped=data["residents_helped"],
            outcome=data["outcome"],
            notes=data["notes"],
            readiness={item: data.get(item) for item in READINESS_FIELDS},
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's refusal beside the fields it names, keeping what was typed."""
        errors_to_form(self, error, field_of={"household": "address_label"}, model=Visit)

    @staticmethod
    def initial_for(visit: Visit) -> dict:
        """The form's starting values for editing a stored visit."""
        return {
            "visited_on": visit.visited_on,
            "hamlet": visit.household.hamlet_id,
            "address_label": visit.household.address_label,
            "members": [m.pk for m in visit.members.all()],
            "services": [s.pk for s in visit.services.all()],
            "residents_helped": visit.residents_helped,
            "outcome": visit.outcome,
            "notes": visit.notes,
            **{item: _VALUE_ANSWERS[getattr(visit, item)] for item in READINESS_FIELDS},
        }


class NewVisitForm(VisitForm):
    """A new visit carries the submission id that makes a resend store it only once.

    A household met for the first time is asked first, after the notice is read out,
    whether it agrees to be recorded (Decree 356/2025). One that declines is stored with
    its hamlet only: no address, name or phone, and its visit still counts.
    """

    submission_id = forms.UUIDField(widget=forms.HiddenInput)
    consent = forms.ChoiceField(
        label=_("Does the household agree to be recorded?"),
        choices=Household.Consent.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "Asked once, at the first visit, after reading out the notice. If the household "
            "declines, leave the address and name empty: the visit still counts."
        ),
    )

    # The answer that keeps the address and name out (visit-form.js watches for it).
    declined_value = Household.Consent.DECLINED
    # Ticked once the leader has been told that a declining household's address and
    # name are not kept (the page shows it beside them when the household declines).
    drop_address = forms.BooleanField(
        label=_("Save the visit without the address and name"),
        required=False,
    )

    def __init__(self, *args, team: Team, choices: VisitChoices | None = None, **kwargs):
        # A new visit is its team's: the cached choices, unless the caller has them.
        choices = choices if choices is not None else visit_choices(team.pk)
        super().__init__(*args, team=team, choices=choices, **kwargs)
        # Required unless the household declined: checked in clean().
        self.fields["address_label"].required = False
        self.household_found = NOT_LOOKED_UP
        self.warned_address_dropped = False

    def clean(self):
        data = super().clean()
        consent = data.get("consent", "")
        if consent == Household.Consent.DECLINED:
            typed = [name for name in ("address_label", "head_name") if data.get(name)]
            if typed and not data.get("drop_address"):
                # Never dropped silently: the leader is told first, and confirms.
                self.warned_address_dropped = True
                self.add_error(
                    typed[0],
                    _(
                        "The household declined to be recorded: the address and name will "
                        "not be kept. Tick the box below to save the visit without them, or "
                        "clear them."
                    ),
                )
                return data
            data["address_label"] = data["head_name"] = ""
            return data
        address = data.get("address_label", "")
        if not address:
            if "address_label" not in self.errors:
                self.add_error("address_label", _("Enter the house number and alley."))
            return data
        hamlet = data.get("hamlet")
        try:
            known = hamlet is not None and household_at(hamlet=hamlet, address_label=address)
        except ValidationError as error:
            self.add_error("address_label", error.message_dict["address_label"])
            return data
        if hamlet is not None:
            # The service takes this answer rather than asking the database again.
            self.household_found = known or None
        if not known and not consent:
            self.add_error(
                "consent",
                _(
                    "This household is new: read out the notice and tick its answer. A "
                    "household is recorded only if it agrees."
                ),
            )
        return data

    @staticmethod
    def initial_for_team(team: Team, defaults: dict) -> dict:
        """Today, a fresh submission id, and the hamlet and members of the last visit."""
        initial = {
            "submission_id": uuid.uuid4(),
            "visited_on": timezone.localdate(),
            "hamlet": defaults.get("hamlet") or team.hamlet_id,
        }
        if defaults.get("members"):
            initial["members"] = defaults["members"]
        return initial


class EditVisitForm(VisitForm):
    """Editing changes the visit, not the household: its head's name is kept elsewhere."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["head_name"]
