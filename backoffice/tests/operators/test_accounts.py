"""Operators: created with `createsuperuser` (email as the username), working in /admin/."""

import pytest
from django.core.management import call_command

from accounts.models import Role, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return UserFactory(email="operator@example.com", is_staff=True, is_superuser=True)


def test_createsuperuser_makes_an_operator_by_email(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "violet-anchor-meadow-42")

    call_command("createsuperuser", "--no-input", "--email", "Ops@Example.com", verbosity=0)

    operator = User.objects.get()
    assert operator.email == "ops@example.com"
    assert (operator.is_staff, operator.is_superuser) == (True, True)
    # Powers come from the flags; the API role stays the plain USER.
    assert operator.role == Role.USER
    assert operator.password.startswith("bcrypt_sha256$")
    assert operator.check_password("violet-anchor-meadow-42")


def test_operator_sees_the_user_pages(client, operator, user):
    client.force_login(operator)

    assert client.get("/admin/").status_code == 200
    changelist = client.get("/admin/accounts/user/", {"q": user.email})
    assert changelist.status_code == 200
    assert user.email in changelist.content.decode()
    assert client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200
    assert client.get("/admin/accounts/user/add/").status_code == 200


def test_operator_adds_a_merchant_with_a_hashed_password(client, operator):
    client.force_login(operator)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "Shop@Example.com",
            "role": "MERCHANT",
            "password1": "violet-anchor-meadow-42",
            "password2": "violet-anchor-meadow-42",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    merchant = User.objects.get(role=Role.MERCHANT)
    assert merchant.email == "shop@example.com"
    assert merchant.password.startswith("bcrypt_sha256$")
    assert not merchant.is_staff


def test_non_staff_user_is_kept_out_of_the_admin(client, user):
    client.force_login(user)

    response = client.get("/admin/accounts/user/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_refuses_an_email_taken_in_another_case(client, operator):
    UserFactory(email="taken@example.com")
    client.force_login(operator)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "TAKEN@example.com",
            "role": "USER",
            "password1": "violet-anchor-meadow-42",
            "password2": "violet-anchor-meadow-42",
            "usable_password": "true",
        },
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_operator_edits_an_email_into_its_lower_case_form(client, operator, user):
    client.force_login(operator)

    response = client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {"email": "Renamed@Example.com", "role": user.role, "first_name": user.first_name, "is_active": "on"},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "renamed@example.com"
    assert user.is_active


def test_the_user_page_links_to_the_wallet(client, operator, user):
    wallet_id = user.wallet.id
    client.force_login(operator)

    change = client.get(f"/admin/accounts/user/{user.pk}/change/")
    listing = client.get("/admin/accounts/user/", {"role__exact": "USER"})

    assert f"/admin/wallets/wallet/{wallet_id}/change/".encode() in change.content
    assert f"/admin/wallets/wallet/{wallet_id}/change/".encode() in listing.content


def test_a_posted_password_hash_is_ignored(client, operator, user):
    hash_before = user.password
    client.force_login(operator)

    response = client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "email": user.email,
            "role": user.role,
            "is_active": "on",
            "password": "bcrypt_sha256$$2b$12$forgedforgedforgedforgedforgedforgedforgedforgedforge",
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password == hash_before


def test_accounts_are_deactivated_never_deleted(client, operator, user):
    client.force_login(operator)

    assert client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert b"delete_selected" not in client.get("/admin/accounts/user/").content
    assert User.objects.filter(pk=user.pk).exists()
