import datetime as dt

import factory

from communes.models import Commune, Hamlet
from outreach.models import Household, Member, Team


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
