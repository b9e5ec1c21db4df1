"""The filter bars of the team, member, hamlet and visit lists.

Each narrows a queryset its view takes from a scoped selector, and each choice list is
built from the user's scope by the view or from scoped selectors: a filter never
widens what the user sees.
"""

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import ScopeLevel, User
from accounts.scopes import scope_for
from communes.models import Commune, Hamlet
from core.filters import FilterSet, PeriodForm, SearchFilterSet, date_input, raw_id

from .forms.visits import HamletChoiceField, MemberChoiceField
from .models import Member, Service, Team
from .selectors import hamlets_visible, members_matching, members_visible, named_like


class TeamFilter(SearchFilterSet):
    STATUS_CHOICES = [
        ("active", _("Active teams")),
        ("dissolved", _("Dissolved teams")),
        ("all", _("All teams")),
    ]

    commune = django_filters.ModelChoiceFilter(
        label=_("Commune"), queryset=Commune.objects.none(), empty_label=_("Any commune")
    )
    hamlet = django_filters.ModelChoiceFilter(
        label=_("Hamlet"), queryset=Hamlet.objects.none(), empty_label=_("Any hamlet")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=STATUS_CHOICES, empty_label=None, method="filter_status"
    )

    search_placeholder = _("Team name")
    defaults = {"status": "active"}

    def __init__(
        self,
        data,
        queryset: QuerySet[Team],
        *,
        communes: QuerySet[Commune] | None,
        hamlets: QuerySet[Hamlet],
    ):
        """`communes` is None for a user who works in a single commune: no commune filter.

        Hamlets are offered once the commune is known, so a province never lists
        thousands of them.
        """
        super().__init__(data, queryset)
        if communes is None:
            del self.filters["commune"]
            self.filters["hamlet"].queryset = hamlets
        else:
            self.filters["commune"].queryset = communes
            commune_id = raw_id(self.data, "commune")
            if commune_id is None:
                del self.filters["hamlet"]
            else:
                self.filters["hamlet"].queryset = hamlets.filter(commune_id=commune_id)

    def search(self, queryset, name, value):
        return named_like(queryset, value)

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.active()
        if value == "dissolved":
            return queryset.filter(dissolved_on__isnull=False)
        return queryset


class MemberFilter(SearchFilterSet):
    STATUS_CHOICES = [
        ("active", _("Active members")),
        ("former", _("Former members")),
        ("all", _("All members")),
    ]
    ZALO_CHOICES = [("yes", _("Joined")), ("no", _("Not joined"))]

    commune = django_filters.ModelChoiceFilter(
        field_name="team__commune",
        label=_("Commune"),
        queryset=Commune.objects.none(),
        empty_label=_("Any commune"),
    )
    team = django_filters.ModelChoiceFilter(
        label=_("Team"), queryset=Team.objects.none(), empty_label=_("Any team")
    )
    role = django_filters.ChoiceFilter(
        label=_("Role"), choices=Member.Role.choices, empty_label=_("Any role")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=STATUS_CHOICES, empty_label=None, method="filter_status"
    )
    zalo = django_filters.ChoiceFilter(
        label=_("National DX Zalo OA"),
        choices=ZALO_CHOICES,
        empty_label=_("Either"),
        method="filter_zalo",
    )

    search_placeholder = _("Name or phone number")
    defaults = {"status": "active"}

    def __init__(
        self,
        data,
        queryset: QuerySet[Member],
        *,
        communes: QuerySet[Commune] | None,
        teams: QuerySet[Team],
    ):
        """`communes` is None for a user who works in a single commune.

        The team list is offered once the commune is known; before that a team can
        still be chosen by link (from a team's page) through a hidden field.
        """
        super().__init__(data, queryset)
        if communes is None:
            del self.filters["commune"]
            self.filters["team"].queryset = teams
            return
        self.filters["commune"].queryset = communes
        commune_id = raw_id(self.data, "commune")
        if commune_id is None:
            self.filters["team"].queryset = teams
            self.filters["team"].field.widget = forms.HiddenInput()
        else:
            self.filters["team"].queryset = teams.filter(commune_id=commune_id)

    def search(self, queryset, name, value):
        return members_matching(queryset, value)

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(is_active=True)
        if value == "former":
            return queryset.filter(is_active=False)
        return queryset

    def filter_zalo(self, queryset, name, value):
        return queryset.filter(on_zalo_oa=value == "yes")


class HamletFilter(SearchFilterSet):
    commune = django_filters.ModelChoiceFilter(
        label=_("Commune"), queryset=Commune.objects.none(), empty_label=_("Any commune")
    )

    search_placeholder = _("Hamlet name")

    def __init__(self, data, queryset: QuerySet[Hamlet], *, communes: QuerySet[Commune] | None):
        super().__init__(data, queryset)
        if communes is None:
            del self.filters["commune"]
        else:
            self.filters["commune"].queryset = communes

    def search(self, queryset, name, value):
        return named_like(queryset, value)


class HamletChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = HamletChoiceField


class MemberChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = MemberChoiceField


class VisitFilter(FilterSet):
    """The visit list's filters (and its export's); every choice list stays inside the
    user's scope."""

    start = django_filters.DateFilter(
        field_name="visited_on", lookup_expr="gte", label=_("From"), widget=date_input()
    )
    end = django_filters.DateFilter(
        field_name="visited_on", lookup_expr="lte", label=_("To"), widget=date_input()
    )
    hamlet = HamletChoiceFilter(
        field_name="household__hamlet",
        label=_("Hamlet"),
        queryset=Hamlet.objects.none(),
        empty_label=_("All hamlets"),
    )
    # A visit helps with several services and is made by several members: it is listed
    # once however many of them match.
    service = django_filters.ModelChoiceFilter(
        field_name="services",
        distinct=True,
        label=_("Service"),
        queryset=Service.objects.none(),
        empty_label=_("All services"),
    )
    member = MemberChoiceFilter(
        field_name="members",
        distinct=True,
        label=_("Member"),
        queryset=Member.objects.none(),
        empty_label=_("All members"),
    )

    class Meta:
        form = PeriodForm

    def __init__(self, data, queryset, *, user: User):
        super().__init__(data, queryset)
        scope = scope_for(user)
        # A team or a commune names a few hundred members at most; a district or the
        # province names thousands, too many for one list, so there a hamlet is chosen
        # first and the members of its commune are offered.
        self.narrow = scope.level not in (ScopeLevel.TEAM, ScopeLevel.COMMUNE)
        self.filters["hamlet"].extra["with_commune"] = self.narrow
        self.filters["hamlet"].queryset = hamlets_visible(user)
        # Visits keep services the catalogue has since retired, so all stay filterable.
        self.filters["service"].queryset = Service.objects.all()
        # Two teams may each have a Nguyễn Văn An: beyond one team, names carry the team.
        self.filters["member"].extra["with_team"] = scope.level != ScopeLevel.TEAM
        members = (
            members_visible(user)
            .select_related(None)
            .select_related("team")
            .only("id", "full_name", "team__name")
        )
        hamlet_id = raw_id(self.data, "hamlet")
        # Whether the member list waits for a hamlet (the template says so instead).
        self.members_wait_for_hamlet = self.narrow and not hamlet_id
        if self.narrow:
            members = (
                members.filter(team__commune__hamlets__pk=hamlet_id)
                if hamlet_id
                else members.none()
            )
        self.filters["member"].queryset = members
