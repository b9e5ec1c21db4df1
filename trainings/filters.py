"""The filter bars of the training-session list (and its export) and the learners' list.

Each narrows a queryset its view takes from a scoped selector; the place choices come
from the user's scope: a filter never widens what the user sees.
"""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import ScopeLevel, User
from accounts.scopes import scope_for
from communes.models import Commune, District
from core.filters import FilterSet, PeriodForm, SearchFilterSet, date_input, raw_id

from .models import Audience, CourseEnrolment, Topic, TrainingSession
from .selectors import enrolments_matching


class SessionFilterBarForm(PeriodForm):
    def clean(self):
        cleaned = super().clean()
        # A commune of another district than the one chosen (the district was changed
        # and the commune left): the district's sessions are listed.
        district, commune = cleaned.get("district"), cleaned.get("commune")
        if district and commune and commune.district_id != district.pk:
            cleaned.pop("commune")
        return cleaned


class SessionFilter(FilterSet):
    """The session list's filters.

    District and commune filters are offered only to users who see more than one: a
    province chooses a district first and then its communes (so no one scrolls through
    226 communes), district staff choose among their communes, a commune official
    filters neither.
    """

    # A period keeps the sessions that overlap it.
    start = django_filters.DateFilter(
        field_name="ends_on", lookup_expr="gte", label=_("From"), widget=date_input()
    )
    end = django_filters.DateFilter(
        field_name="starts_on", lookup_expr="lte", label=_("To"), widget=date_input()
    )
    format = django_filters.ChoiceFilter(
        label=_("Format"), choices=TrainingSession.Format.choices, empty_label=_("Any format")
    )
    # One topic joins at most one row per session: nothing is listed twice.
    topic = django_filters.ModelChoiceFilter(
        field_name="topics",
        label=_("Topic"),
        queryset=Topic.objects.none(),
        empty_label=_("Any topic"),
    )
    audience = django_filters.ChoiceFilter(
        label=_("Audience"), choices=Audience.choices, empty_label=_("Any audience")
    )
    district = django_filters.ModelChoiceFilter(
        label=_("District"),
        queryset=District.objects.none(),
        empty_label=_("Any district"),
        method="filter_district",
    )
    commune = django_filters.ModelChoiceFilter(
        label=_("Commune"), queryset=Commune.objects.none(), empty_label=_("Any commune")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=TrainingSession.Status.choices, empty_label=_("Any status")
    )

    class Meta:
        form = SessionFilterBarForm

    def __init__(self, data, queryset: QuerySet[TrainingSession], *, user: User):
        super().__init__(data, queryset)
        scope = scope_for(user)
        wide = scope.sees_everything or scope.level == ScopeLevel.PROVINCE
        self.filters["topic"].queryset = Topic.objects.order_by("sort_order", "code")
        if wide or len(scope.district_ids) > 1:
            self.filters["district"].queryset = scope.districts()
            district_id = raw_id(self.data, "district")
            if district_id is None:
                del self.filters["commune"]
            else:
                self.filters["commune"].queryset = scope.communes().filter(district_id=district_id)
        else:
            del self.filters["district"]
            if scope.level == ScopeLevel.DISTRICT or len(scope.commune_ids) > 1:
                self.filters["commune"].queryset = scope.communes()
            else:
                del self.filters["commune"]

    def filter_district(self, queryset, name, value):
        # A district keeps its own sessions and those of its communes; a commune chosen
        # in it narrows to the commune's alone.
        if "commune" in self.applied:
            return queryset
        return queryset.filter(Q(district=value) | Q(commune__district=value))


class CourseFilter(SearchFilterSet):
    """Search, course and completion filters of the learners' list."""

    STATUS_CHOICES = [("completed", _("Completed")), ("not_completed", _("Not completed"))]

    # A course is the platform's name for it, whatever that is: null_value=None stops
    # django-filter reading a course named "null" as "no course".
    course = django_filters.ChoiceFilter(
        label=_("Course"), empty_label=_("Any course"), null_value=None
    )
    status = django_filters.ChoiceFilter(
        label=_("Completion"),
        choices=STATUS_CHOICES,
        empty_label=_("Completed or not"),
        method="filter_status",
    )

    search_placeholder = _("Name, agency, e-mail or phone")

    def __init__(self, data, queryset: QuerySet[CourseEnrolment], *, courses: list[str]):
        """`courses`: the courses of the records the user can see."""
        super().__init__(data, queryset)
        self.filters["course"].extra["choices"] = [(course, course) for course in courses]

    def search(self, queryset, name, value):
        return enrolments_matching(queryset, value)

    def filter_status(self, queryset, name, value):
        if value == "completed":
            return queryset.filter(completed_on__isnull=False)
        return queryset.filter(completed_on__isnull=True)
