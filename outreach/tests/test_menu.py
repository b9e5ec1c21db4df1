"""The menu shows each login the links of its own permissions, in its own language,
though the process keeps the menu's text rendered (core/templatetags/frame.py)."""

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.tests.factories import UserFactory

# The menu's links and the permission each needs (templates/base.html).
LINKS = {
    "outreach.add_visit": "outreach:visit_new",
    "outreach.view_visit": "outreach:visit_list",
    "outreach.view_team": "outreach:team_list",
    "outreach.view_member": "outreach:member_list",
    "communes.change_hamlet": "outreach:hamlet_list",
    "outreach.view_household": "outreach:household_list",
    "trainings.view_trainingsession": "trainings:session_list",
}


def _menu(client, user, language: str) -> str:
    client.force_login(user)
    client.cookies["django_language"] = language
    page = client.get(reverse("home"), follow=True).content.decode()
    return re.search(r'<nav class="site-nav".*?</nav>', page, re.S).group(0)


@pytest.mark.django_db
def test_each_login_sees_its_own_links_in_its_own_language(client, leader, official):
    staff = UserFactory(
        is_staff=True, scope_commune=official.scope_commune, scope_level=official.scope_level
    )
    seen = []
    for user, language in [
        (leader, "vi"),
        (official, "vi"),
        (staff, "vi"),
        (leader, "en"),
        (official, "vi"),
        (leader, "vi"),
    ]:
        menu = _menu(client, user, language)
        user = type(user).objects.get(pk=user.pk)  # its permissions as a request reads them
        for permission, name in LINKS.items():
            assert (f'href="{reverse(name)}"' in menu) == user.has_perm(permission), (
                user,
                permission,
            )
        assert (f'href="{reverse("admin:index")}"' in menu) == user.is_staff
        for other in ("en", "vi"):
            with translation.override(other):
                label = f">{gettext('Dashboard')}</a>"
            assert (label in menu) == (other == language)
        seen.append(menu)
    # The logins differ in what they may do, so their menus do.
    assert seen[0] != seen[1] and seen[1] != seen[2] and seen[0] != seen[3]
