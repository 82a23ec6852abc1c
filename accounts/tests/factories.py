import factory
from django.contrib.auth.hashers import make_password

from accounts.models import Role, User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class _HashOnce:
    """bcrypt at cost 12 takes ~0.25 s: hash the shared test password once per run."""

    value: str | None = None

    def __call__(self) -> str:
        if self.value is None:
            self.value = make_password(DEFAULT_PASSWORD)
        return self.value


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    role = Role.USER
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.LazyFunction(_HashOnce())


class MerchantFactory(UserFactory):
    email = factory.Sequence(lambda n: f"merchant{n}@example.com")
    role = Role.MERCHANT
