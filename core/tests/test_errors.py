"""The one error shape: problem+json with a stable `code`, for DRF, Django and unexpected failures.

The tests marked `urls` run against this module's own URLconf: a few test-only
views that raise, roll back and paginate under the API prefix.
"""

import json

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import path
from rest_framework import generics, serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny

from accounts.models import User
from accounts.tests.factories import UserFactory
from core.errors import ApplicationError
from core.pagination import PageLimitPagination

PREFIX = f"/{settings.API_PREFIX}"
LEAKED_TEXT = "SELECT password FROM accounts_user -- hunter2"


@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def drf_crash(request):
    raise RuntimeError(LEAKED_TEXT)


def django_crash(request):
    raise RuntimeError(LEAKED_TEXT)


class Conflict(ApplicationError):
    status_code = 409
    code = "insufficient_funds"
    title = "Insufficient funds"


@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def write_then_fail(request):
    # The shape of every service: its transaction rolls back as the error leaves it.
    with transaction.atomic():
        User.objects.create(email="half-written@example.com")
        raise Conflict()


class UserRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email"]


class UserList(generics.ListAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    pagination_class = PageLimitPagination
    serializer_class = UserRowSerializer
    queryset = User.objects.order_by("email")


urlpatterns = [
    path(f"{settings.API_PREFIX}/test/drf-crash", drf_crash),
    path(f"{settings.API_PREFIX}/test/django-crash", django_crash),
    path(f"{settings.API_PREFIX}/test/write-then-fail", write_then_fail),
    path(f"{settings.API_PREFIX}/test/users", UserList.as_view()),
]

with_test_views = pytest.mark.urls(__name__)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    assert body["detail"]
    return body


# --- 404 / 405 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"{PREFIX}/no-such-thing",
        f"{PREFIX}/auth/no-such-action",
        f"{PREFIX}/auth/login/",
        f"{PREFIX}/health/",
        f"{PREFIX}/deeply/nested/unknown/path",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_path_under_the_api_is_problem_404(api_client, url, method):
    response = getattr(api_client, method)(url)

    assert_problem(response, 404, "not_found")


def test_unknown_path_outside_the_api_is_not_json(api_client):
    response = api_client.get("/definitely-not-here")

    assert response.status_code == 404
    assert response["Content-Type"] != "application/problem+json"


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", f"{PREFIX}/auth/login"), ("put", f"{PREFIX}/auth/register"), ("delete", f"{PREFIX}/health")],
)
def test_wrong_method_is_problem_405(api_client, method, url):
    response = getattr(api_client, method)(url)

    assert_problem(response, 405, "method_not_allowed")


# --- bad bodies -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"email": "a@example.com",', id="truncated"),
        pytest.param("{'email': 'a@example.com'}", id="single-quotes"),
        pytest.param('{"amount": NaN}', id="nan"),
        pytest.param('{"amount": Infinity}', id="infinity"),
        pytest.param("\xff\xfe", id="not-utf8"),
    ],
)
def test_malformed_json_is_400_validation_error(api_client, body):
    response = api_client.generic("POST", f"{PREFIX}/auth/login", body, content_type="application/json")

    body = assert_problem(response, 400, "validation_error")
    assert body["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[1, 2]", '"a string"', "42", "null", "true", "[]"])
def test_json_that_is_not_an_object_is_400(api_client, body):
    response = api_client.generic("POST", f"{PREFIX}/auth/login", body, content_type="application/json")

    assert_problem(response, 400, "validation_error")


def test_unsupported_media_type_is_problem_415(api_client):
    response = api_client.generic("POST", f"{PREFIX}/auth/login", "email=a", content_type="text/plain")

    assert_problem(response, 415, "unsupported_media_type")


def test_body_above_the_upload_limit_is_problem_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"email": "a@example.com", "password": "x" * 2048})

    response = api_client.generic("POST", f"{PREFIX}/auth/login", body, content_type="application/json")

    assert_problem(response, 413, "request_too_large")


def test_validation_errors_list_messages_per_camel_case_field(api_client, db):
    response = api_client.post(f"{PREFIX}/auth/register", {"email": "nope", "firstName": "x" * 151}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert set(body["errors"]) == {"email", "password", "firstName"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


# --- 500 ------------------------------------------------------------------------


@with_test_views
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("view", ["drf-crash", "django-crash"])
def test_unhandled_exception_is_500_without_details(api_client, settings, debug, view):
    settings.DEBUG = debug

    response = api_client.get(f"{PREFIX}/test/{view}")

    body = assert_problem(response, 500, "server_error")
    text = response.content.decode()
    for leak in ("Traceback", "RuntimeError", "SELECT", "hunter2", "password", ".py"):
        assert leak not in text
    assert set(body) == {"type", "title", "status", "detail", "code"}


# --- rollback -------------------------------------------------------------------


@with_test_views
@pytest.mark.django_db
def test_an_error_raised_in_a_transaction_leaves_nothing_written(api_client):
    response = api_client.post(f"{PREFIX}/test/write-then-fail", {}, format="json")

    body = assert_problem(response, 409, "insufficient_funds")
    assert body["title"] == "Insufficient funds"
    assert User.objects.filter(email="half-written@example.com").count() == 0


@pytest.mark.django_db
def test_queries_still_work_after_an_error_response(api_client):
    # An error response leaves the transaction the test runs in usable.
    assert api_client.post(f"{PREFIX}/auth/login", {}, format="json").status_code == 400

    assert User.objects.count() == 0


# --- pagination -----------------------------------------------------------------


@pytest.fixture
def users_105(db):
    UserFactory.create_batch(105)


@with_test_views
def test_list_defaults_to_20_per_page(api_client, users_105):
    response = api_client.get(f"{PREFIX}/test/users")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 105
    assert len(body["results"]) == 20
    assert body["previous"] is None
    assert "page=2" in body["next"]


@with_test_views
def test_limit_is_capped_at_100(api_client, users_105):
    response = api_client.get(f"{PREFIX}/test/users", {"limit": 1000})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 100


@with_test_views
def test_page_and_limit_select_the_slice(api_client, users_105):
    response = api_client.get(f"{PREFIX}/test/users", {"page": 3, "limit": 50})

    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 5
    assert body["next"] is None
    assert "page=2" in body["previous"]


@with_test_views
@pytest.mark.parametrize("page", ["7", "0", "-1", "abc"])
def test_out_of_range_page_is_problem_404(api_client, users_105, page):
    response = api_client.get(f"{PREFIX}/test/users", {"page": page})

    assert_problem(response, 404, "not_found")


@with_test_views
@pytest.mark.django_db
def test_empty_list_is_one_empty_page(api_client):
    response = api_client.get(f"{PREFIX}/test/users")

    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.django_db
def test_a_disallowed_host_gets_problem_json_under_the_api(client):
    response = client.get("/api/v1/health", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
