"""Register, login, refresh, logout and me: the shapes and error rows of docs/api.md (Authentication)."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import Role, User
from accounts.services import token_pair_for
from accounts.tests.factories import DEFAULT_PASSWORD, MerchantFactory, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"

USER_KEYS = {"id", "email", "role", "firstName", "lastName", "createdAt"}
STRONG_PASSWORD = "violet-anchor-meadow-42"


def assert_no_secrets(response, *passwords: str) -> None:
    """No hash, and none of the passwords sent, may ever come back in a body."""
    body = response.content.decode()
    assert "bcrypt" not in body
    assert "$2b$" not in body
    for password in passwords:
        assert password not in body


def assert_user_shape(data: dict, user: User) -> None:
    assert set(data) == USER_KEYS
    assert data["id"] == str(user.id)
    assert data["email"] == user.email
    assert data["role"] == user.role
    assert data["firstName"] == user.first_name
    assert data["lastName"] == user.last_name
    assert data["createdAt"].endswith("Z")


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


# --- register -----------------------------------------------------------------


def test_register_returns_user_and_token_pair(api_client):
    response = api_client.post(
        REGISTER,
        {"email": "ada@example.com", "password": STRONG_PASSWORD, "firstName": "Ada", "lastName": "Lovelace"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"user", "accessToken", "refreshToken"}
    user = User.objects.get()
    assert_user_shape(body["user"], user)
    assert body["user"]["role"] == "USER"
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    assert AccessToken(body["accessToken"])["user_id"] == str(user.id)
    assert RefreshToken(body["refreshToken"])["user_id"] == str(user.id)
    assert "password" not in response.content.decode().lower()
    assert_no_secrets(response, STRONG_PASSWORD)


def test_register_merchant(api_client):
    response = api_client.post(
        REGISTER, {"email": "shop@example.com", "password": STRONG_PASSWORD, "role": "MERCHANT"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["user"]["role"] == "MERCHANT"
    assert User.objects.get().role == Role.MERCHANT


def test_register_stores_email_lower_case(api_client):
    response = api_client.post(
        REGISTER, {"email": "Grace.Hopper@Example.COM", "password": STRONG_PASSWORD}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["user"]["email"] == "grace.hopper@example.com"
    assert User.objects.get().email == "grace.hopper@example.com"


def test_register_names_default_to_blank(api_client):
    response = api_client.post(REGISTER, {"email": "anon@example.com", "password": STRONG_PASSWORD}, format="json")

    assert response.status_code == 201
    assert response.json()["user"]["firstName"] == ""
    assert response.json()["user"]["lastName"] == ""


def test_register_duplicate_email_in_another_case_is_409(api_client):
    UserFactory(email="taken@example.com")

    response = api_client.post(REGISTER, {"email": "TAKEN@Example.com", "password": STRONG_PASSWORD}, format="json")

    assert_problem(response, 409, "email_taken")
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Ab1-xyz", id="short"),
        pytest.param("qwertyuiop", id="common"),
        pytest.param("48201957316", id="all-digits"),
        pytest.param("jonathan.smith@example.com", id="same-as-email"),
        pytest.param("jonathansmith", id="similar-to-email"),
    ],
)
def test_register_weak_password_is_400_on_password(api_client, password):
    response = api_client.post(REGISTER, {"email": "jonathan.smith@example.com", "password": password}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert body["errors"]["password"]
    assert User.objects.count() == 0
    assert_no_secrets(response, password)


@pytest.mark.parametrize("role", ["ADMIN", "admin", "", "merchant", "STAFF", None])
def test_register_any_other_role_is_400(api_client, role):
    response = api_client.post(
        REGISTER, {"email": "eve@example.com", "password": STRONG_PASSWORD, "role": role}, format="json"
    )

    body = assert_problem(response, 400, "validation_error")
    assert "role" in body["errors"]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("ada\u200b@example.com", id="zero-width-space"),
        pytest.param("ada@exam\u200bple.com", id="zero-width-space-in-domain"),
        pytest.param("ada@example.com\u200d", id="zero-width-joiner"),
        pytest.param("\u202eada@example.com", id="bidi-override"),
        pytest.param("ada\x07@example.com", id="control"),
        pytest.param("ada@exa\u00a0mple.com", id="no-break-space"),
        pytest.param(" ada@example.com", id="leading-space"),
        pytest.param("ada@example.com\t", id="trailing-tab"),
    ],
)
def test_register_an_email_with_invisible_characters_is_400(api_client, email):
    UserFactory(email="ada@example.com")

    response = api_client.post(REGISTER, {"email": email, "password": STRONG_PASSWORD}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert list(body["errors"]) == ["email"]
    assert User.objects.count() == 1


def test_register_folds_compatibility_forms_so_a_look_alike_is_the_same_account(api_client):
    fullwidth = "\uff41da@example.com"  # a fullwidth "a"
    first = api_client.post(REGISTER, {"email": fullwidth, "password": STRONG_PASSWORD}, format="json")
    again = api_client.post(REGISTER, {"email": "ADA@example.com", "password": STRONG_PASSWORD}, format="json")
    login = api_client.post(LOGIN, {"email": fullwidth, "password": STRONG_PASSWORD}, format="json")

    assert (first.status_code, first.json()["user"]["email"]) == (201, "ada@example.com")
    assert_problem(again, 409, "email_taken")
    assert login.status_code == 200
    assert User.objects.count() == 1


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "", "a b@example.com"])
def test_register_bad_email_is_400(api_client, email):
    response = api_client.post(REGISTER, {"email": email, "password": STRONG_PASSWORD}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert "email" in body["errors"]
    assert User.objects.count() == 0


def test_register_missing_fields_lists_each(api_client):
    response = api_client.post(REGISTER, {}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert set(body["errors"]) == {"email", "password"}


def test_register_ignores_privilege_and_identity_fields(api_client):
    response = api_client.post(
        REGISTER,
        {
            "email": "mallory@example.com",
            "password": STRONG_PASSWORD,
            "id": "00000000-0000-0000-0000-000000000001",
            "isStaff": True,
            "isSuperuser": True,
            "isActive": False,
            "is_staff": True,
            "createdAt": "2000-01-01T00:00:00Z",
            "balance": "1000000.00",
        },
        format="json",
    )

    assert response.status_code == 201
    user = User.objects.get()
    assert str(user.id) != "00000000-0000-0000-0000-000000000001"
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert user.role == Role.USER
    assert user.created_at.year > 2000
    assert set(response.json()["user"]) == USER_KEYS


def test_register_with_admin_role_and_staff_flag_creates_nothing(api_client):
    response = api_client.post(
        REGISTER,
        {"email": "mallory@example.com", "password": STRONG_PASSWORD, "role": "ADMIN", "isStaff": True},
        format="json",
    )

    assert_problem(response, 400, "validation_error")
    assert User.objects.count() == 0


# --- login --------------------------------------------------------------------


def test_login_returns_user_and_token_pair(api_client):
    user = UserFactory(email="login@example.com")

    response = api_client.post(LOGIN, {"email": "login@example.com", "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"user", "accessToken", "refreshToken"}
    assert_user_shape(body["user"], user)
    assert AccessToken(body["accessToken"])["user_id"] == str(user.id)
    assert OutstandingToken.objects.filter(user=user).count() == 1
    assert "password" not in response.content.decode().lower()
    assert_no_secrets(response, DEFAULT_PASSWORD)


def test_login_email_is_case_insensitive(api_client):
    user = UserFactory(email="mixed@example.com")

    response = api_client.post(LOGIN, {"email": "  MiXeD@EXAMPLE.com", "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(user.id)


def test_wrong_password_and_unknown_email_answer_identically(api_client):
    UserFactory(email="known@example.com")

    wrong_password = api_client.post(
        LOGIN, {"email": "known@example.com", "password": "not-the-password"}, format="json"
    )
    unknown_email = api_client.post(
        LOGIN, {"email": "nobody@example.com", "password": "not-the-password"}, format="json"
    )

    assert_problem(wrong_password, 401, "invalid_credentials")
    assert_problem(unknown_email, 401, "invalid_credentials")
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.content == unknown_email.content
    assert OutstandingToken.objects.count() == 0
    assert_no_secrets(wrong_password, "not-the-password")


def test_login_of_deactivated_user_is_invalid_credentials(api_client):
    UserFactory(email="gone@example.com", is_active=False)

    response = api_client.post(LOGIN, {"email": "gone@example.com", "password": DEFAULT_PASSWORD}, format="json")

    assert_problem(response, 401, "invalid_credentials")


def test_login_missing_password_is_400(api_client):
    response = api_client.post(LOGIN, {"email": "someone@example.com"}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert "password" in body["errors"]


def test_role_claim_is_in_both_tokens(api_client):
    MerchantFactory(email="seller@example.com")

    body = api_client.post(LOGIN, {"email": "seller@example.com", "password": DEFAULT_PASSWORD}, format="json").json()

    assert AccessToken(body["accessToken"])["role"] == "MERCHANT"
    assert RefreshToken(body["refreshToken"])["role"] == "MERCHANT"


# --- me -----------------------------------------------------------------------


def test_me_returns_the_current_user(auth_client, user):
    response = auth_client(user).get(ME)

    assert response.status_code == 200
    assert_user_shape(response.json(), user)
    assert "password" not in response.content.decode().lower()


def test_me_without_token_is_not_authenticated(api_client):
    response = api_client.get(ME)

    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_me_with_deactivated_users_token_is_401(auth_client, user):
    client = auth_client(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = client.get(ME)

    assert_problem(response, 401, "invalid_token")


# --- refresh ------------------------------------------------------------------


def test_refresh_rotates_the_pair(api_client, user):
    old = token_pair_for(user=user)

    response = api_client.post(REFRESH, {"refreshToken": old.refresh}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken"}
    assert body["refreshToken"] != old.refresh
    assert AccessToken(body["accessToken"])["role"] == user.role
    assert BlacklistedToken.objects.filter(token__jti=RefreshToken(old.refresh, verify=False)["jti"]).count() == 1
    assert OutstandingToken.objects.filter(user=user).count() == 2
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['accessToken']}")
    assert api_client.get(ME).status_code == 200


def test_reused_refresh_token_is_401(api_client, user):
    old = token_pair_for(user=user)
    assert api_client.post(REFRESH, {"refreshToken": old.refresh}, format="json").status_code == 200

    response = api_client.post(REFRESH, {"refreshToken": old.refresh}, format="json")

    assert_problem(response, 401, "invalid_token")
    assert OutstandingToken.objects.filter(user=user).count() == 2
    assert BlacklistedToken.objects.count() == 1


def test_rotated_refresh_token_keeps_working_in_a_chain(api_client, user):
    token = token_pair_for(user=user).refresh
    for _ in range(3):
        response = api_client.post(REFRESH, {"refreshToken": token}, format="json")
        assert response.status_code == 200
        token = response.json()["refreshToken"]

    assert BlacklistedToken.objects.count() == 3


def test_refresh_for_deactivated_user_is_401(api_client, user):
    tokens = token_pair_for(user=user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = api_client.post(REFRESH, {"refreshToken": tokens.refresh}, format="json")

    assert_problem(response, 401, "invalid_token")
    assert OutstandingToken.objects.filter(user=user).count() == 1


def test_refresh_without_token_is_400(api_client):
    response = api_client.post(REFRESH, {}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert "refreshToken" in body["errors"]


# --- logout -------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api_client, user):
    tokens = token_pair_for(user=user)

    response = api_client.post(LOGOUT, {"refreshToken": tokens.refresh}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1


def test_logged_out_refresh_token_cannot_refresh(api_client, user):
    tokens = token_pair_for(user=user)
    api_client.post(LOGOUT, {"refreshToken": tokens.refresh}, format="json")

    response = api_client.post(REFRESH, {"refreshToken": tokens.refresh}, format="json")

    assert_problem(response, 401, "invalid_token")
    assert OutstandingToken.objects.filter(user=user).count() == 1


def test_logout_twice_is_401(api_client, user):
    tokens = token_pair_for(user=user)
    api_client.post(LOGOUT, {"refreshToken": tokens.refresh}, format="json")

    response = api_client.post(LOGOUT, {"refreshToken": tokens.refresh}, format="json")

    assert_problem(response, 401, "invalid_token")
    assert BlacklistedToken.objects.count() == 1


def test_access_token_outlives_logout_until_it_expires(api_client, user):
    # Documented: logout revokes the refresh token; access tokens are short-lived instead.
    tokens = token_pair_for(user=user)
    api_client.post(LOGOUT, {"refreshToken": tokens.refresh}, format="json")

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access}")

    assert api_client.get(ME).status_code == 200


# --- the full walk-through ----------------------------------------------------


def test_register_login_me_refresh_logout_walk_through(api_client):
    registered = api_client.post(
        REGISTER, {"email": "walk@example.com", "password": STRONG_PASSWORD, "role": "MERCHANT"}, format="json"
    )
    assert registered.status_code == 201

    logged_in = api_client.post(LOGIN, {"email": "WALK@example.com", "password": STRONG_PASSWORD}, format="json")
    assert logged_in.status_code == 200
    assert logged_in.json()["user"] == registered.json()["user"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {logged_in.json()['accessToken']}")
    me = api_client.get(ME)
    assert me.status_code == 200
    assert me.json() == registered.json()["user"]

    refreshed = api_client.post(REFRESH, {"refreshToken": logged_in.json()["refreshToken"]}, format="json")
    assert refreshed.status_code == 200

    logged_out = api_client.post(LOGOUT, {"refreshToken": refreshed.json()["refreshToken"]}, format="json")
    assert logged_out.status_code == 204

    for response in (registered, logged_in, me, refreshed):
        assert "password" not in response.content.decode().lower()
        assert_no_secrets(response, STRONG_PASSWORD)
    assert BlacklistedToken.objects.count() == 2


@pytest.mark.parametrize("path", ["/api/v1/auth/refresh", "/api/v1/auth/logout"])
def test_a_stale_access_token_does_not_block_refresh_or_logout(api_client, user, path):
    refresh = token_pair_for(user=user).refresh
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    response = api_client.post(path, {"refreshToken": refresh}, format="json")

    assert response.status_code in (200, 204), response.content


def test_a_stale_access_token_does_not_block_login(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    response = api_client.post("/api/v1/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200
