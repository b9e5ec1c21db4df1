import datetime as dt
import uuid

import factory
from django.contrib.contenttypes.models import ContentType

from accounts.models import AuditEntry
from communes.models import Commune, Hamlet
from outreach.models import Household, Member, Service, Team, Visit
from outreach.selectors import VISIT_WRITES


class HamletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hamlet

    commune = factory.LazyFunction(lambda: Commune.objects.get(code=14269))
    name = factory.Sequence(lambda n: f"Thôn {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    commune = factory.LazyFunction(lambda: Commune.objects.get(code=14269))
    name = factory.Sequence(lambda n: f"Tổ công nghệ số {n}")
    formed_on = dt.date(2023, 3, 1)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    team = factory.SubFactory(TeamFactory)
    full_name = factory.Faker("name", locale="vi_VN")
    role = Member.Role.MEMBER
    phone = factory.Sequence(lambda n: f"09{n:08d}")
    joined_on = dt.date(2023, 3, 1)


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    hamlet = factory.SubFactory(HamletFactory)
    commune = factory.SelfAttribute("hamlet.commune")
    address_label = factory.Sequence(lambda n: f"Số {n}, ngõ 3")


def visit_entries(**filters):
    """The visits' creations, changes and deletions in the audit trail (what their own
    trail, VisitChange, held before it moved there), filtered like any queryset."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Visit), action__in=VISIT_WRITES, **filters
    )


def visit_form_data(team, hamlet, day, **overrides) -> dict:
    """What the phone form posts for a new household's visit (the outbox sends the same)."""
    values = {
        "submission_id": str(uuid.uuid4()),
        "consent": Household.Consent.GIVEN,
        "visited_on": day.isoformat(),
        "hamlet": str(hamlet.pk),
        "address_label": "Số 12, ngõ 3",
        "head_name": "Nguyễn Văn An",
        "members": [str(m.pk) for m in team.members.filter(is_active=True)],
        "residents_helped": "2",
        "services": [str(Service.objects.get(code="portal_account").pk)],
        "outcome": Visit.Outcome.HELPED,
        "has_smartphone": "yes",
        "portal_account": "no",
        "notes": "Hướng dẫn cài VNeID",
    }
    values.update(overrides)
    return values
