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

        from .services.access import access_rules_register

        register_team_resolver(leader_teams)
        access_rules_register()
