import factory

from accounts.models import ScopeLevel, User
from accounts.services import user_role_sync


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name", locale="vi_VN")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create:
            user_role_sync(user=obj)


def province_staff(province, **kwargs) -> User:
    return UserFactory(scope_level=ScopeLevel.PROVINCE, scope_province=province, **kwargs)


def district_staff(district, **kwargs) -> User:
    return UserFactory(scope_level=ScopeLevel.DISTRICT, scope_district=district, **kwargs)


def commune_official(commune, **kwargs) -> User:
    return UserFactory(scope_level=ScopeLevel.COMMUNE, scope_commune=commune, **kwargs)
