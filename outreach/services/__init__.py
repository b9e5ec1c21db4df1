"""Every write to outreach data goes through these functions.

Views, admin, imports, commands and tasks all call them. Each owns its transaction,
validates with full_clean(), checks the acting user's permission and scope, and marks
the (commune, day) buckets its change touched for the dashboard's roll-up.
"""

from .households import household_get_or_create, households_merge
from .privacy import household_erase, households_retention, member_erase
from .teams import (
    EntryInvalid,
    member_create,
    member_create_many,
    member_deactivate,
    member_login_create,
    member_login_password_reset,
    member_update,
    team_create,
    team_dissolve,
    team_update,
)
from .visits import VisitConflict, visit_delete, visit_record, visit_update

__all__ = [
    "EntryInvalid",
    "VisitConflict",
    "household_erase",
    "household_get_or_create",
    "households_merge",
    "households_retention",
    "member_create",
    "member_create_many",
    "member_deactivate",
    "member_erase",
    "member_login_create",
    "member_login_password_reset",
    "member_update",
    "team_create",
    "team_dissolve",
    "team_update",
    "visit_delete",
    "visit_record",
    "visit_update",
]
