from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def leader_teams(user):
    """The teams a team-level user leads: (team, commune, district) for the scope helper."""
    from .models import Member

    return Member.objects.filter(
        user=user, is_active=True, role=Member.Role.LEADER, team__dissolved_on__isnull=True
    ).values_list("team_id", "team__commune_id", "team__commune__district_id")


class OutreachConfig(AppConfig):
    name = "outreach"
    verbose_name = _("Outreach")

    def ready(self):
        from accounts.scopes import register_team_resolver
        from communes.models import Commune

        from .models import Member, Team
        from .selectors import VISIT_CHOICES, VISIT_CHOICES_READS
        from .services.access import access_rules_register

        # The scope helper keeps each leader's teams in the cache until one of these
        # changes: a member's team, login, role or leaving, a team's dissolving, a
        # commune's district.
        register_team_resolver(leader_teams, reads=(Member, Team, Commune))
        # And the visit form's choices per team until a team, member, hamlet, service or
        # commune changes (saved, deleted, or written in bulk by a service that says so).
        VISIT_CHOICES.renew_on(*VISIT_CHOICES_READS)
        access_rules_register()
