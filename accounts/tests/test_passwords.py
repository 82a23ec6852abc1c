"""Passwords: bcrypt cost 12 over a SHA-256 pre-hash, so nothing past byte 72 is lost."""

import pytest
from django.contrib.auth.hashers import identify_hasher

from accounts.models import User

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"

# 100 characters, well past bcrypt's 72-byte input limit.
LONG_PASSWORD = "tangerine-harbour-quartz-" * 4


def register(client, email: str, password: str):
    return client.post(REGISTER, {"email": email, "password": password}, format="json")


def login(client, email: str, password: str):
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


def test_password_is_stored_as_bcrypt_sha256_cost_12(api_client):
    register(api_client, "hash@example.com", "violet-anchor-meadow-42")

    stored = User.objects.get().password
    assert identify_hasher(stored).algorithm == "bcrypt_sha256"
    assert stored.startswith("bcrypt_sha256$$2b$12$")
    assert "violet-anchor-meadow-42" not in stored


def test_hundred_character_password_registers_and_logs_in(api_client):
    assert len(LONG_PASSWORD) == 100
    assert register(api_client, "long@example.com", LONG_PASSWORD).status_code == 201

    assert login(api_client, "long@example.com", LONG_PASSWORD).status_code == 200


def test_long_passwords_differing_after_byte_72_are_different(api_client):
    other = LONG_PASSWORD[:90] + "X" * 10
    assert other[:72] == LONG_PASSWORD[:72]
    register(api_client, "long@example.com", LONG_PASSWORD)

    response = login(api_client, "long@example.com", other)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    user = User.objects.get()
    assert user.check_password(LONG_PASSWORD)
    assert not user.check_password(other)


def test_password_longer_than_128_characters_is_400(api_client):
    response = register(api_client, "huge@example.com", "q7-" * 50)

    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert User.objects.count() == 0
