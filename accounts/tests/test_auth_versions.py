"""A request authenticates from its token and the cached auth version; an account change refuses old tokens at once."""

import pytest
import requests
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import Role, User
from accounts.services import token_pair_for
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from paymentflow.tests.servers import API, database_environment, gunicorn

pytestmark = pytest.mark.django_db

WALLET = "/api/v1/wallet"
ME = "/api/v1/auth/me"
REFRESH = "/api/v1/auth/refresh"


def get(api_client, path: str, access: str):
    return api_client.get(path, HTTP_AUTHORIZATION=f"Bearer {access}")


def assert_refused(response) -> None:
    assert (response.status_code, response.json()["code"]) == (401, "invalid_token"), response.content


@pytest.fixture
def account(api_client):
    """A user with a token pair whose auth version is already in the cache (a request was made)."""
    user = UserFactory()
    tokens = token_pair_for(user=user)
    assert get(api_client, WALLET, tokens.access).status_code == 200
    return user, tokens


def test_a_request_reads_no_user_row(api_client, account):
    _, tokens = account

    with CaptureQueriesContext(connection) as queries:
        response = get(api_client, WALLET, tokens.access)

    assert response.status_code == 200
    assert [query["sql"] for query in queries if "accounts_user" in query["sql"]] == []


def test_the_profile_is_read_from_the_row(api_client, account):
    user, tokens = account
    User.objects.filter(id=user.id).update(first_name="Renamed")

    assert get(api_client, ME, tokens.access).json()["firstName"] == "Renamed"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: setattr(user, "is_active", False), id="deactivated"),
        pytest.param(lambda user: user.set_password("a-new-password-42"), id="new-password"),
        pytest.param(lambda user: setattr(user, "role", Role.MERCHANT), id="new-role"),
        pytest.param(lambda user: setattr(user, "is_staff", True), id="made-staff"),
        pytest.param(lambda user: setattr(user, "is_superuser", True), id="made-superuser"),
    ],
)
def test_an_account_change_refuses_its_old_tokens_on_the_next_request(
    api_client, account, change, django_capture_on_commit_callbacks
):
    user, tokens = account
    user = User.objects.get(id=user.id)
    with django_capture_on_commit_callbacks(execute=True):
        change(user)
        user.save()

    assert_refused(get(api_client, WALLET, tokens.access))
    assert_refused(api_client.post(REFRESH, {"refreshToken": tokens.refresh}, format="json"))


def test_a_bulk_update_refuses_old_tokens_too(api_client, account, django_capture_on_commit_callbacks):
    user, tokens = account

    with django_capture_on_commit_callbacks(execute=True):
        User.objects.filter(id=user.id).update(is_active=False)

    assert_refused(get(api_client, WALLET, tokens.access))
    assert User.objects.get(id=user.id).auth_version == 2


def test_a_change_of_name_or_email_keeps_the_tokens(api_client, account):
    user, tokens = account
    user = User.objects.get(id=user.id)
    user.first_name, user.email = "Ada", "ada.new@example.com"
    user.save()

    assert get(api_client, WALLET, tokens.access).status_code == 200
    assert User.objects.get(id=user.id).auth_version == 1


def test_a_reactivated_account_logs_in_again_its_old_tokens_stay_refused(
    api_client, account, django_capture_on_commit_callbacks
):
    user, tokens = account
    user = User.objects.get(id=user.id)
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
        user.is_active = True
        user.save()

    assert_refused(get(api_client, WALLET, tokens.access))
    login = api_client.post("/api/v1/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert get(api_client, WALLET, login.json()["accessToken"]).status_code == 200


def test_a_change_that_rolls_back_refuses_nothing(api_client, account, django_capture_on_commit_callbacks):
    user, tokens = account
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        user = User.objects.get(id=user.id)
        user.is_active = False
        user.save()
        raise RuntimeError("rolled back")

    assert get(api_client, WALLET, tokens.access).status_code == 200


def test_a_token_without_an_auth_version_is_refused(api_client, user):
    # As issued before auth versions existed: its user logs in again once.
    legacy = AccessToken.for_user(user)

    assert_refused(get(api_client, WALLET, str(legacy)))


def test_with_the_cache_unreachable_the_database_decides(api_client, settings):
    user = UserFactory()
    tokens = token_pair_for(user=user)
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
        }
    }

    assert get(api_client, WALLET, tokens.access).status_code == 200
    user.is_active = False
    user.save()
    assert_refused(get(api_client, WALLET, tokens.access))


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_users_token_is_refused_on_every_worker(tmp_path):
    user = UserFactory()
    headers = {"Authorization": f"Bearer {token_pair_for(user=user).access}"}
    env = {**database_environment(), "WEB_CONCURRENCY": "2", "WEB_THREADS": "2"}
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log") as server:
        wallet = f"{server.url}{API}/wallet"
        # A new connection per request: they land on both workers, which cache nothing of their own.
        assert {requests.get(wallet, headers=headers, timeout=10).status_code for _ in range(20)} == {200}
        user.is_active = False
        user.save()

        answers = [requests.get(wallet, headers=headers, timeout=10) for _ in range(20)]

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(401, "invalid_token")] * 20
