"""The filter bars of the team, member, hamlet, visit and household lists.

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
from communes.models import Commune, District, Hamlet
from core.fields import ListedModelChoiceField
from core.filters import FilterSet, PeriodForm, SearchFilterSet, date_input, raw_id

from .forms.visits import HamletChoiceField, MemberChoiceField
from .models import Member, Service, Team
from .selectors import (
    hamlets_visible,
    households_searched,
    members_matching,
    members_visible,
    named_like,
    teams_visible,
)


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


class CommuneChoiceField(ListedModelChoiceField):
    """A commune, named with its district when the choices span several districts:
    provincial staff find a commune by where it is as often as by its name."""

    def __init__(self, *args, with_district: bool = False, **kwargs):
        self.with_district = with_district
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Commune) -> str:
        return f"{obj.name} — {obj.district.name}" if self.with_district else obj.name


class CommuneChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = CommuneChoiceField


class ListedChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ListedModelChoiceField


class PlaceFilterSet(FilterSet):
    """The district, commune and hamlet filters of a list whose rows have a commune and
    a hamlet of their own (`commune`, `hamlet`).

    The place filters follow the user's scope: the province (or a user of several
    districts) chooses a district, then a commune among the district's; district staff
    a commune of their district; a commune official or a team leader, whose scope is
    one commune, neither. Hamlets are offered once the commune is known, and only its
    own: a province never lists a thousand "Thôn 1"s, and a hamlet of another commune
    sent by hand is an error beside the field, not a filter. Each choice narrows the
    next when the form is sent (static/js/place-filters.js sends it on a change).
    """

    district = ListedChoiceFilter(
        field_name="commune__district",
        label=_("District"),
        queryset=District.objects.none(),
        empty_label=_("Any district"),
    )
    commune = CommuneChoiceFilter(
        label=_("Commune"), queryset=Commune.objects.none(), empty_label=_("Any commune")
    )
    hamlet = HamletChoiceFilter(
        label=_("Hamlet"), queryset=Hamlet.objects.none(), empty_label=_("All hamlets")
    )

    # The filters whose choices a place's choice changes (cleared when it changes).
    narrowed_by_commune = ("hamlet",)

    def narrow_places(self, user: User) -> int | None:
        """Offer the places of the user's scope; the id of the commune whose hamlets are
        offered (as sent, or the scope's one commune), None while there is none."""
        scope = scope_for(user)
        narrowed = " ".join(self.narrowed_by_commune)
        if scope.level in (ScopeLevel.COMMUNE, ScopeLevel.TEAM) and len(scope.commune_ids) == 1:
            del self.filters["district"]
            del self.filters["commune"]
            (commune_id,) = scope.commune_ids
            self._hamlets_of(user, commune_id, _("This hamlet is not in your commune."))
            self._list_places()
            return commune_id
        communes = scope.communes()
        district_id = None
        if (
            scope.sees_everything
            or scope.level == ScopeLevel.PROVINCE
            or len(scope.district_ids) > 1
        ):
            self.filters["district"].queryset = scope.districts()
            self.filters["district"].extra["widget"] = forms.Select(
                attrs={"data-clears": f"commune {narrowed}"}
            )
            district_id = raw_id(self.data, "district")
        else:
            del self.filters["district"]
        commune = self.filters["commune"]
        if district_id is not None:
            communes = communes.filter(district_id=district_id)
            commune.extra["error_messages"] = {
                "invalid_choice": _("This commune is not in the chosen district.")
            }
        commune.queryset = communes
        # Named with their district while they are the province's, not one district's.
        commune.extra["with_district"] = "district" in self.filters and district_id is None
        commune.extra["widget"] = forms.Select(attrs={"data-clears": narrowed})
        commune_id = raw_id(self.data, "commune")
        if commune_id is None:
            del self.filters["hamlet"]
        else:
            hamlets = self._hamlets_of(
                user, commune_id, _("This hamlet is not in the chosen commune.")
            )
            if district_id is not None:
                self.filters["hamlet"].queryset = hamlets.filter(commune__district_id=district_id)
        self._list_places()
        return commune_id

    def _list_places(self) -> None:
        # Each place's choices read once: the select shows them and the value sent is
        # checked against them, rather than looked up again.
        for name in ("district", "commune", "hamlet"):
            if name in self.filters:
                field = self.filters[name].field
                field.list_choices(field.queryset)

    def _hamlets_of(self, user: User, commune_id: int, refusal) -> QuerySet[Hamlet]:
        hamlets = hamlets_visible(user).filter(commune_id=commune_id)
        self.filters["hamlet"].queryset = hamlets
        self.filters["hamlet"].extra["error_messages"] = {"invalid_choice": refusal}
        return hamlets


class HouseholdFilter(SearchFilterSet, PlaceFilterSet):
    """The household list's filters (and its export's, and the merge page's search)."""

    search_placeholder = _("Address or head of household")

    def __init__(self, data, queryset: QuerySet, *, user: User):
        super().__init__(data, queryset)
        self.narrow_places(user)

    def search(self, queryset, name, value):
        return households_searched(queryset, value)


class MemberChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = MemberChoiceField


class VisitFilter(PlaceFilterSet):
    """The visit list's filters (and its export's); every choice list stays inside the
    user's scope. A visit's commune and hamlet are where it counts (its household's)."""

    start = django_filters.DateFilter(
        field_name="visited_on", lookup_expr="gte", label=_("From"), widget=date_input()
    )
    end = django_filters.DateFilter(
        field_name="visited_on", lookup_expr="lte", label=_("To"), widget=date_input()
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
    # Chosen by link (from a team's dashboard) and kept by the form through a hidden
    # field; the page names the team.
    team = django_filters.ModelChoiceFilter(
        label=_("Team"), queryset=Team.objects.none(), widget=forms.HiddenInput
    )

    narrowed_by_commune = ("hamlet", "member")

    class Meta:
        form = PeriodForm

    def __init__(self, data, queryset, *, user: User):
        super().__init__(data, queryset)
        scope = scope_for(user)
        commune_id = self.narrow_places(user)
        # A team or a commune names a few hundred members at most; a district or the
        # province names thousands, too many for one list, so there a commune is chosen
        # first and its members are offered.
        narrow = scope.level not in (ScopeLevel.TEAM, ScopeLevel.COMMUNE)
        self.filters["team"].queryset = teams_visible(user)
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
        if narrow:
            if commune_id is None:
                # The template says how to get the list instead.
                del self.filters["member"]
            else:
                self.filters["member"].queryset = members.filter(team__commune_id=commune_id)
        else:
            self.filters["member"].queryset = members
