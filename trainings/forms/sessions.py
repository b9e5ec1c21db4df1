"""Forms of the training-session pages: a session, attendance, headcount (the list's
filter bar is trainings.filters.SessionFilter).

The forms only validate what was typed. The level and place of a new session come from
the user's scope (only an administrator chooses them), every choice list is built from
the user's scope by the views, and the services check permission and place again.
"""

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from communes.models import Commune, District
from core.fields import WholeNumberField
from core.forms import errors_to_form
from core.phone import clean_phone as cleaned_phone
from outreach.models import Member

from ..models import Attendance, Headcount, Level, Topic, TrainingSession


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# Sessions are of the campaign's years (its first figures are from 2020), planned at
# most a year ahead, and last at most about three months: a year typed as 2062 or 9999
# is a slip of the thumb.
SESSIONS_FROM = date(2020, 1, 1)
SESSION_DAYS_AHEAD = 366
SESSION_LONGEST_DAYS = 92


def _session_day_check(day):
    latest = timezone.localdate() + timedelta(days=SESSION_DAYS_AHEAD)
    if day is not None and not SESSIONS_FROM <= day <= latest:
        raise ValidationError(
            _("Choose a day between %(earliest)s and %(latest)s."),
            params={
                "earliest": date_format(SESSIONS_FROM, "SHORT_DATE_FORMAT"),
                "latest": date_format(latest, "SHORT_DATE_FORMAT"),
            },
        )
    return day


def _count_input() -> forms.NumberInput:
    return forms.NumberInput(attrs={"inputmode": "numeric", "min": 0})


def _constraint_message(model, name: str) -> str:
    return str(next(c.violation_error_message for c in model._meta.constraints if c.name == name))


class CommuneChoiceField(forms.ModelChoiceField):
    """A commune, named with its district: two districts may each have a Xã Nam Thanh."""

    def label_from_instance(self, obj: Commune) -> str:
        return f"{obj.name} — {obj.district.name}"


def _topics_grouped(form: forms.Form, field_name: str, topics: list[Topic]) -> list:
    """The topic checkboxes under the kind of topic they are (curriculum, thematic, sector)."""
    kind_of = {str(topic.pk): topic.kind for topic in topics}
    labels = dict(Topic.Kind.choices)
    groups: dict[str, list] = {}
    for option in form[field_name]:
        groups.setdefault(kind_of[str(option.data["value"])], []).append(option)
    return [(labels[kind], options) for kind, options in groups.items()]


# --- A session -----------------------------------------------------------------------


def _session_field(name: str, **kwargs) -> forms.Field:
    """The form field of a TrainingSession model field: its label, choices and help text."""
    return TrainingSession._meta.get_field(name).formfield(**kwargs)


class SessionForm(forms.Form):
    title = _session_field("title")
    format = _session_field("format")
    audience = _session_field("audience")
    level = forms.ChoiceField(label=_("Level"), choices=Level.choices)
    district = forms.ModelChoiceField(
        label=_("District"),
        queryset=District.objects.none(),
        required=False,
        help_text=_("For a district session."),
    )
    commune = CommuneChoiceField(
        label=_("Commune"),
        queryset=Commune.objects.none(),
        required=False,
        help_text=_("For a commune session."),
    )
    topics = forms.ModelMultipleChoiceField(
        label=_("Topics"),
        queryset=Topic.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one topic.")},
    )
    organiser = _session_field("organiser", widget=forms.RadioSelect)
    organiser_name = _session_field("organiser_name")
    starts_on = forms.DateField(label=_("Starts on"), widget=_date_input())
    ends_on = forms.DateField(
        label=_("Ends on"),
        required=False,
        widget=_date_input(),
        help_text=_("Leave empty for a session of one day."),
    )
    capacity = WholeNumberField(
        label=_("Capacity"),
        min_value=1,
        max_value=100_000,
        required=False,
        widget=_count_input(),
        help_text=_("How many people can attend; the printed sheet gets as many lines."),
    )
    status = _session_field("status", widget=forms.RadioSelect)

    field_order = [
        "title",
        "format",
        "audience",
        "level",
        "district",
        "commune",
        "topics",
        "starts_on",
        "ends_on",
        "capacity",
        "organiser",
        "organiser_name",
        "status",
    ]

    # Where a database constraint's message belongs in the form.
    CONSTRAINT_FIELDS = {
        _constraint_message(TrainingSession, "session_ends_after_start"): "ends_on",
    }

    def __init__(self, *args, choose_place: bool, **kwargs):
        """`choose_place`: an administrator chooses the level and place of a new session;
        everyone else's come from their scope, and an edit never moves a session."""
        super().__init__(*args, **kwargs)
        self.topic_list = list(Topic.objects.order_by("sort_order", "code"))
        topics = self.fields["topics"]
        topics.queryset = Topic.objects.all()
        # The loaded list gives the choices, so rendering them costs no further query.
        topics.choices = [(topic.pk, str(topic)) for topic in self.topic_list]
        if choose_place:
            self.fields["district"].queryset = District.objects.all()
            self.fields["commune"].queryset = Commune.objects.select_related("district")
        else:
            for name in ("level", "district", "commune"):
                del self.fields[name]

    def topic_groups(self) -> list:
        return _topics_grouped(self, "topics", self.topic_list)

    # Checked when typed: an old session's edit keeps the days it was recorded with.
    def clean_starts_on(self):
        day = self.cleaned_data["starts_on"]
        return _session_day_check(day) if "starts_on" in self.changed_data else day

    def clean_ends_on(self):
        day = self.cleaned_data["ends_on"]
        return _session_day_check(day) if "ends_on" in self.changed_data else day

    def clean(self):
        cleaned = super().clean()
        starts_on = cleaned.get("starts_on")
        if starts_on and not cleaned.get("ends_on") and "ends_on" not in self.errors:
            cleaned["ends_on"] = starts_on
        ends_on = cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("The end date cannot be before the start date."))
        elif starts_on and ends_on and (ends_on - starts_on).days >= SESSION_LONGEST_DAYS:
            self.add_error(
                "ends_on",
                ValidationError(
                    _("A session lasts at most %(days)d days; record a longer course as several."),
                    params={"days": SESSION_LONGEST_DAYS},
                ),
            )
        level = cleaned.get("level")
        if level == Level.DISTRICT and not cleaned.get("district"):
            self.add_error("district", _("Choose the district of a district session."))
        if level == Level.COMMUNE and not cleaned.get("commune"):
            self.add_error("commune", _("Choose the commune of a commune session."))
        return cleaned

    def session_fields(self) -> dict:
        """The cleaned values session_update takes (the place never changes)."""
        return {
            k: v
            for k, v in self.cleaned_data.items()
            if k not in ("topics", "level", "district", "commune")
        }

    def add_service_errors(self, error: ValidationError) -> None:
        errors_to_form(
            self, error, messages_for_field=self.CONSTRAINT_FIELDS, model=TrainingSession
        )

    @staticmethod
    def initial_for(session: TrainingSession) -> dict:
        initial = {name: getattr(session, name) for name in SessionForm.base_fields}
        initial["topics"] = [topic.pk for topic in session.topics.all()]
        initial["district"], initial["commune"] = session.district_id, session.commune_id
        return initial


# --- Attendance ----------------------------------------------------------------------


class MemberChoiceField(forms.ModelChoiceField):
    """A team member, named with their team: two teams may each have a Nguyễn Văn An."""

    def label_from_instance(self, obj: Member) -> str:
        return f"{obj.full_name} — {obj.team.name}"


def _attendance_field(name: str, **kwargs) -> forms.Field:
    return Attendance._meta.get_field(name).formfield(**kwargs)


class AttendanceForm(forms.Form):
    """One named attendee: a team member picked from the list, or anyone typed in."""

    member = MemberChoiceField(
        label=_("Team member"),
        queryset=Member.objects.none(),
        required=False,
        empty_label=_("Not a team member: type the name below"),
        help_text=_("A member of one of the commune's teams; their name and phone are filled in."),
    )
    full_name = _attendance_field("full_name", required=False)
    agency = _attendance_field("agency")
    position = _attendance_field("position")
    phone = forms.CharField(
        label=_("Phone"),
        # What people type: "+84 912 345 678" is longer than the ten digits stored.
        max_length=20,
        required=False,
        help_text=_("Optional."),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )

    def __init__(self, *args, members: QuerySet[Member] | None, **kwargs):
        """`members` are the team members who may be picked; None where there are none
        to pick (a district or provincial session)."""
        super().__init__(*args, prefix="attendance", **kwargs)
        if members is None:
            del self.fields["member"]
        else:
            self.fields["member"].queryset = members

    def clean_phone(self) -> str:
        return cleaned_phone(self.cleaned_data["phone"], field=None)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("member") and not cleaned.get("full_name", "").strip():
            if "member" in self.fields:
                message = _("Choose a team member or type the person's full name.")
            else:
                message = _("Type the person's full name.")
            self.add_error("full_name", message)
        return cleaned

    def add_service_errors(self, error: ValidationError) -> None:
        errors_to_form(self, error, messages_for_field={}, model=Attendance)


# --- Headcount -----------------------------------------------------------------------


class HeadcountForm(forms.Form):
    total = WholeNumberField(
        label=_("People present"),
        min_value=0,
        max_value=100_000,
        widget=_count_input(),
        help_text=_("Everyone present, the people named on the list included."),
    )
    women = WholeNumberField(
        label=_("Of whom women"),
        min_value=0,
        max_value=100_000,
        required=False,
        widget=_count_input(),
    )
    working_age = WholeNumberField(
        label=_("Of working age"),
        min_value=0,
        max_value=100_000,
        required=False,
        widget=_count_input(),
    )
    priority_groups = WholeNumberField(
        label=_("From priority groups"),
        min_value=0,
        max_value=100_000,
        required=False,
        widget=_count_input(),
        help_text=_(
            "Staff of socio-political organisations and cooperatives, part-time hamlet staff, "
            "community team members."
        ),
    )

    PARTS = ("women", "working_age", "priority_groups")
    CONSTRAINT_FIELDS = {
        _constraint_message(Headcount, "headcount_parts_within_total"): "total",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="headcount", **kwargs)

    def clean(self):
        cleaned = super().clean()
        total = cleaned.get("total")
        for part in self.PARTS:
            # A part left empty was not counted: it is recorded as none.
            if part in cleaned and cleaned[part] is None:
                cleaned[part] = 0
            if total is not None and (cleaned.get(part) or 0) > total:
                self.add_error(part, _("This cannot be more than the people present."))
        return cleaned

    def add_service_errors(self, error: ValidationError) -> None:
        errors_to_form(self, error, messages_for_field=self.CONSTRAINT_FIELDS, model=Headcount)

    @staticmethod
    def initial_for(headcount: Headcount | None) -> dict:
        if headcount is None:
            return {}
        return {name: getattr(headcount, name) for name in ("total", *HeadcountForm.PARTS)}
