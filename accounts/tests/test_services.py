"""Account services called directly: the rules hold without the HTTP layer in front."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.exceptions import EmailTaken, InvalidCredentials
from accounts.models import Role, User
from accounts.services import auth_logout, auth_refresh, token_pair_for, user_authenticate, user_register
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from core.errors import InvalidToken

pytestmark = pytest.mark.django_db


def test_user_register_normalises_the_email_and_hashes_the_password():
    user = user_register(email=" New.User@Example.COM ", password="violet-anchor-meadow-42", role=Role.MERCHANT)

    assert user.email == "new.user@example.com"
    assert user.role == Role.MERCHANT
    assert user.check_password("violet-anchor-meadow-42")
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)


def test_user_register_refuses_roles_outside_user_and_merchant():
    with pytest.raises(ValueError):
        user_register(email="op@example.com", password="violet-anchor-meadow-42", role="ADMIN")

    assert User.objects.count() == 0


def test_user_register_existing_email_in_another_case_raises_email_taken():
    UserFactory(email="dup@example.com")

    with pytest.raises(EmailTaken):
        user_register(email="DUP@example.com", password="violet-anchor-meadow-42")

    assert User.objects.count() == 1


def test_user_authenticate_returns_the_user_for_any_email_case():
    user = UserFactory(email="case@example.com")

    assert user_authenticate(email="CASE@example.com", password=DEFAULT_PASSWORD) == user


@pytest.mark.parametrize(
    ("email", "password"),
    [("case@example.com", "wrong-password-123"), ("missing@example.com", DEFAULT_PASSWORD)],
)
def test_user_authenticate_rejects_wrong_password_and_unknown_email_alike(email, password):
    UserFactory(email="case@example.com")

    with pytest.raises(InvalidCredentials):
        user_authenticate(email=email, password=password)


def test_token_pair_for_records_the_refresh_token_as_outstanding(user):
    token_pair_for(user=user)

    assert OutstandingToken.objects.filter(user=user).count() == 1


def test_auth_refresh_blacklists_the_old_token_and_issues_a_new_one(user):
    old = token_pair_for(user=user)

    new = auth_refresh(refresh_token=old.refresh)

    assert new.refresh != old.refresh
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    with pytest.raises(InvalidToken):
        auth_refresh(refresh_token=old.refresh)


def test_auth_logout_revokes_exactly_once(user):
    tokens = token_pair_for(user=user)

    auth_logout(refresh_token=tokens.refresh)

    with pytest.raises(InvalidToken):
        auth_logout(refresh_token=tokens.refresh)
    assert BlacklistedToken.objects.count() == 1
