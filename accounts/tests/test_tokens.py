"""Every kind of bad JWT is a 401 `invalid_token`, on the bearer header and on refresh/logout."""

import base64
import json
import uuid
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.services import token_pair_for
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(raw: str) -> dict:
    return jwt.decode(raw, options={"verify_signature": False})


def with_payload_changed(raw: str, **changes) -> str:
    """Keep the header and signature of `raw`, but change claims in its payload."""
    header, _payload, signature = raw.split(".")
    return f"{header}.{_b64({**_claims(raw), **changes})}.{signature}"


def unsigned(raw: str) -> str:
    """Re-issue the claims of `raw` with `alg: none` and no signature."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(raw))}."


def signed_with_other_key(raw: str) -> str:
    return jwt.encode(_claims(raw), "an-attacker-key-that-is-long-enough-for-hs256", algorithm="HS256")


def expired_access(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


def expired_refresh(user) -> str:
    token = RefreshToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


def assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_token"


@pytest.fixture
def victim(db):
    return UserFactory()


@pytest.fixture
def other(db):
    return UserFactory()


# --- access tokens on Authorization: Bearer -------------------------------------

BAD_ACCESS_TOKENS = {
    "tampered-user-id": lambda victim, other: with_payload_changed(
        token_pair_for(user=victim).access, user_id=str(other.id)
    ),
    "tampered-role": lambda victim, other: with_payload_changed(token_pair_for(user=victim).access, role="ADMIN"),
    "tampered-exp": lambda victim, other: with_payload_changed(
        expired_access(victim), exp=_claims(expired_access(victim))["exp"] + 3600
    ),
    "other-signing-key": lambda victim, other: signed_with_other_key(token_pair_for(user=victim).access),
    "alg-none": lambda victim, other: unsigned(token_pair_for(user=victim).access),
    "expired": lambda victim, other: expired_access(victim),
    "refresh-as-access": lambda victim, other: token_pair_for(user=victim).refresh,
    "garbage": lambda victim, other: "garbage",
    "three-garbage-parts": lambda victim, other: "abc.def.ghi",
    "truncated": lambda victim, other: token_pair_for(user=victim).access[:-10],
}


@pytest.mark.parametrize("kind", BAD_ACCESS_TOKENS)
def test_bad_access_token_is_invalid_token(api_client, victim, other, kind):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {BAD_ACCESS_TOKENS[kind](victim, other)}")

    assert_invalid_token(api_client.get(ME))


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer  "])
def test_malformed_bearer_header_is_invalid_token(api_client, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)

    assert_invalid_token(api_client.get(ME))


def test_token_of_an_unknown_user_is_invalid_token(api_client):
    token = AccessToken()
    token["user_id"] = str(uuid.uuid4())
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert_invalid_token(api_client.get(ME))


def test_bad_bearer_token_is_rejected_on_public_endpoints_too(api_client, victim):
    # No silent downgrade to anonymous where a token is read: a client sending a
    # broken one learns it at once. (The credential endpoints read none: a client
    # whose access token expired must still be able to refresh or log out.)
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    assert_invalid_token(api_client.get("/api/v1/products"))


def test_access_token_carries_user_id_role_and_15_minute_lifetime(victim):
    claims = _claims(token_pair_for(user=victim).access)

    assert claims["user_id"] == str(victim.id)
    assert claims["role"] == victim.role
    assert claims["token_type"] == "access"
    assert claims["exp"] - claims["iat"] == settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() == 15 * 60


def test_refresh_token_lives_7_days(victim):
    claims = _claims(token_pair_for(user=victim).refresh)

    assert claims["token_type"] == "refresh"
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600


# --- refresh tokens in the body of /refresh and /logout -----------------------------

BAD_REFRESH_TOKENS = {
    "tampered-user-id": lambda victim, other: with_payload_changed(
        token_pair_for(user=victim).refresh, user_id=str(other.id)
    ),
    "other-signing-key": lambda victim, other: signed_with_other_key(token_pair_for(user=victim).refresh),
    "alg-none": lambda victim, other: unsigned(token_pair_for(user=victim).refresh),
    "expired": lambda victim, other: expired_refresh(victim),
    "access-as-refresh": lambda victim, other: token_pair_for(user=victim).access,
    "garbage": lambda victim, other: "garbage",
    "three-garbage-parts": lambda victim, other: "abc.def.ghi",
}


@pytest.mark.parametrize("path", [REFRESH, LOGOUT])
@pytest.mark.parametrize("kind", BAD_REFRESH_TOKENS)
def test_bad_refresh_token_is_invalid_token(api_client, victim, other, kind, path):
    raw = BAD_REFRESH_TOKENS[kind](victim, other)

    response = api_client.post(path, {"refreshToken": raw}, format="json")

    assert_invalid_token(response)
    assert BlacklistedToken.objects.count() == 0


def test_signed_refresh_token_that_was_never_issued_is_invalid_token(api_client, victim):
    # Correctly signed but absent from the outstanding list (e.g. minted with a leaked key
    # before the list existed): rotation refuses what it never handed out.
    token = RefreshToken()
    token["user_id"] = str(victim.id)

    response = api_client.post(REFRESH, {"refreshToken": str(token)}, format="json")

    assert_invalid_token(response)
