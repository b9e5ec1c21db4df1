"""Fixtures the outreach tests share: a commune, its official, a team with its leader
(a login) and a hamlet. A module that needs them otherwise defines its own."""

import pytest

from accounts.tests.factories import commune_official
from communes.models import Commune
from outreach.models import Member
from outreach.services import member_login_create
from outreach.tests.factories import HamletFactory, MemberFactory, TeamFactory


@pytest.fixture
def hai_dong(divisions):
    return Commune.objects.get(code=14269)


@pytest.fixture
def official(hai_dong):
    return commune_official(hai_dong)


@pytest.fixture
def team(hai_dong):
    return TeamFactory(commune=hai_dong)


@pytest.fixture
def hamlet(hai_dong):
    return HamletFactory(commune=hai_dong)


@pytest.fixture
def leader(team, official):
    member = MemberFactory(team=team, role=Member.Role.LEADER, phone="0912345678")
    user, _password = member_login_create(by=official, member=member)
    return user
