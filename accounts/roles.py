"""Roles are Django groups, one for each scope level, with the permissions they carry.

The groups are created by a migration (and kept in line by later ones) from this table.
Permissions say which kinds of objects a role may change; the scope says which ones.
Later apps add their models' permissions here and a migration of theirs calls
`role_groups_sync`.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import ScopeLevel

PROVINCIAL_STAFF = "provincial_staff"
DISTRICT_STAFF = "district_staff"
COMMUNE_OFFICIALS = "commune_officials"
TEAM_LEADERS = "team_leaders"
# Not a scope level: admins add provincial staff to it (Law 91/2025 asks for a named
# person to handle requests to erase personal data).
DATA_OFFICERS = "data_officers"

# Group names are stored in the database, so they are stable keys; labels translate.
ROLE_LABELS = {
    PROVINCIAL_STAFF: _("Provincial staff"),
    DISTRICT_STAFF: _("District staff"),
    COMMUNE_OFFICIALS: _("Commune officials"),
    TEAM_LEADERS: _("Team leaders"),
    DATA_OFFICERS: _("Personal data officers"),
}

ROLE_FOR_LEVEL = {
    ScopeLevel.PROVINCE: PROVINCIAL_STAFF,
    ScopeLevel.DISTRICT: DISTRICT_STAFF,
    ScopeLevel.COMMUNE: COMMUNE_OFFICIALS,
    ScopeLevel.TEAM: TEAM_LEADERS,
}

_VIEW_UNITS = [
    "communes.view_province",
    "communes.view_district",
    "communes.view_commune",
    "communes.view_hamlet",
]

_VIEW_OUTREACH = [
    "outreach.view_team",
    "outreach.view_member",
    "outreach.view_household",
    "outreach.view_visit",
    "outreach.view_service",
]

_VIEW_TRAININGS = [
    "trainings.view_trainingsession",
    "trainings.view_attendance",
    "trainings.view_headcount",
    "trainings.view_courseenrolment",
    "trainings.view_topic",
]
# Each level keeps the sessions held at its level (the scope says where).
_KEEP_SESSIONS = [
    "trainings.add_trainingsession",
    "trainings.change_trainingsession",
    "trainings.add_attendance",
    "trainings.delete_attendance",
    "trainings.add_headcount",
    "trainings.change_headcount",
]

# Staff read the history of the records they can see.
_VIEW_HISTORY = ["accounts.view_auditentry"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Provincial staff also load the online-course platform's lists.
    PROVINCIAL_STAFF: [
        *_VIEW_HISTORY,
        *_VIEW_UNITS,
        *_VIEW_OUTREACH,
        *_VIEW_TRAININGS,
        *_KEEP_SESSIONS,
        "trainings.add_courseenrolment",
        "trainings.change_courseenrolment",
        # The year's targets and the indicators reported from elsewhere.
        "dashboard.view_target",
        "dashboard.add_target",
        "dashboard.change_target",
        "dashboard.delete_target",
        "dashboard.view_provincialindicator",
        "dashboard.add_provincialindicator",
        "dashboard.change_provincialindicator",
    ],
    DISTRICT_STAFF: [
        *_VIEW_HISTORY,
        *_VIEW_UNITS,
        *_VIEW_OUTREACH,
        *_VIEW_TRAININGS,
        *_KEEP_SESSIONS,
    ],
    # Commune officials keep their commune's hamlets, teams, members and households.
    COMMUNE_OFFICIALS: [
        *_VIEW_HISTORY,
        *_VIEW_UNITS,
        *_VIEW_OUTREACH,
        "communes.add_hamlet",
        "communes.change_hamlet",
        "outreach.add_team",
        "outreach.change_team",
        "outreach.add_member",
        "outreach.change_member",
        "outreach.add_household",
        "outreach.change_household",
        *_VIEW_TRAININGS,
        *_KEEP_SESSIONS,
    ],
    # Team leaders keep their team's roster and log its visits.
    TEAM_LEADERS: [
        "communes.view_commune",
        "communes.view_hamlet",
        *_VIEW_OUTREACH,
        "outreach.add_member",
        "outreach.change_member",
        "outreach.add_household",
        "outreach.add_visit",
        "outreach.change_visit",
        "outreach.delete_visit",
        "trainings.view_trainingsession",
        "trainings.view_topic",
    ],
    # Erase a household's or a member's personal data, keeping the figures; a data
    # officer is also provincial staff, whose scope is the whole province.
    DATA_OFFICERS: ["accounts.erase_personal_data", *_VIEW_HISTORY],
}


def roles_with(permission: str) -> list[Promise]:
    """The labels of the roles that carry `permission`, read from ROLE_PERMISSIONS so that
    a 403 page names exactly the roles the groups are given."""
    return [ROLE_LABELS[role] for role, names in ROLE_PERMISSIONS.items() if permission in names]


def role_groups_sync(apps) -> None:
    """Create the role groups and give each exactly the permissions in ROLE_PERMISSIONS.

    Takes an app registry so that migrations can call it with their historical models.
    Permissions whose models are not migrated yet are skipped; the migration of the app
    that adds them calls this again.
    """
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; create them now.
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module, which create_permissions skips.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)
