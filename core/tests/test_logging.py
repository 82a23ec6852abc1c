"""Request ids and structured access logs, with no password, token or key in any log line."""

import io
import json
import logging
import re

import pytest
from django.db import connection

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from core.logging import REDACTED, JsonFormatter, PlainFormatter, redact

pytestmark = pytest.mark.django_db

LOGIN, REFRESH, REGISTER, ME = "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/register", "/api/v1/auth/me"
UUID_HEX = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_output():
    """Capture everything every logger writes, at DEBUG, through the project's JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def access_lines(stream) -> list[dict]:
    return [line for line in lines(stream) if line["logger"] == "paymentflow.request"]


# --- request id -------------------------------------------------------------------------


def test_every_response_carries_a_fresh_request_id(api_client):
    first, second = api_client.get("/api/v1/health"), api_client.get("/api/v1/nowhere")

    assert UUID_HEX.fullmatch(first["X-Request-ID"])
    assert UUID_HEX.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_non_api_responses_carry_one_too(api_client):
    assert UUID_HEX.fullmatch(api_client.get("/admin/login/")["X-Request-ID"])


@pytest.mark.parametrize("incoming", ["7d4c1f0e-2b4a-4c55-9d1e-0f6a3c2b1a90", "lb-1234.abc:5_x", "a" * 128])
def test_a_sane_incoming_request_id_is_kept(api_client, incoming):
    assert api_client.get("/api/v1/health", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming", ["", "a" * 129, "two words", "inject\nfake log line", 'quote"d', "<script>", "naïve"]
)
def test_an_insane_incoming_request_id_is_replaced(api_client, incoming):
    response = api_client.get("/api/v1/health", HTTP_X_REQUEST_ID=incoming)

    assert UUID_HEX.fullmatch(response["X-Request-ID"])


# --- the access line ----------------------------------------------------------------------


def test_one_structured_access_line_per_request(auth_client, log_output):
    user = UserFactory()

    response = auth_client(user).get("/api/v1/wallet/transactions?type=DEPOSIT&limit=5")

    [line] = access_lines(log_output)
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/wallet/transactions"  # never the query string
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] == str(user.id)
    assert line["request_id"] == response["X-Request-ID"]
    assert line["level"] == "INFO"


def test_anonymous_and_refused_requests_are_logged_without_a_user(api_client, log_output):
    api_client.get(ME)

    [line] = access_lines(log_output)
    assert (line["status"], line["user_id"]) == (401, None)


def test_other_lines_of_the_request_carry_its_request_id(api_client, log_output):
    response = api_client.get(ME, HTTP_X_REQUEST_ID="trace-me-42")

    tagged = [line for line in lines(log_output) if line.get("request_id") == "trace-me-42"]
    # Django's own warning for the 401 and our access line, both tagged.
    assert {line["logger"] for line in tagged} >= {"django.request", "paymentflow.request"}
    assert response["X-Request-ID"] == "trace-me-42"


def test_plain_format_is_one_readable_line_with_the_request_id():
    record = logging.LogRecord("paymentflow.request", logging.INFO, __file__, 1, "GET /x 200", (), None)
    record.request_id = "abc"

    assert PlainFormatter().format(record).endswith("INFO paymentflow.request [abc] GET /x 200")


# --- no secrets -----------------------------------------------------------------------------


def test_register_login_refresh_leave_no_password_hash_or_token_in_the_logs(api_client, log_output):
    # Even with every SQL statement logged, which writes refresh tokens and password hashes
    # into INSERTs, nothing secret reaches the output.
    sql_logger = logging.getLogger("django.db.backends")
    sql_logger.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        password = "violet-anchor-meadow-42"
        registered = api_client.post(REGISTER, {"email": "ada@example.com", "password": password}, format="json")
        logged_in = api_client.post(LOGIN, {"email": "ada@example.com", "password": password}, format="json")
        refreshed = api_client.post(REFRESH, {"refreshToken": logged_in.json()["refreshToken"]}, format="json")
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['accessToken']}")
        api_client.get(ME)
        api_client.post(LOGIN, {"email": "ada@example.com", "password": "wrong-" + password}, format="json")
    finally:
        connection.force_debug_cursor = False
        sql_logger.setLevel(logging.NOTSET)

    assert [registered.status_code, logged_in.status_code, refreshed.status_code] == [201, 200, 200]
    output = log_output.getvalue()
    secrets = [
        password,
        registered.json()["accessToken"],
        registered.json()["refreshToken"],
        logged_in.json()["accessToken"],
        logged_in.json()["refreshToken"],
        refreshed.json()["accessToken"],
        refreshed.json()["refreshToken"],
    ]
    assert [secret for secret in secrets if secret in output] == []
    assert "bcrypt_sha256$" not in output
    assert "INSERT INTO" in output  # the SQL really was logged, and redacted
    assert len(access_lines(log_output)) == 5


def test_a_failed_login_logs_no_password(api_client, log_output, caplog):
    UserFactory(email="bob@example.com")

    api_client.post(LOGIN, {"email": "bob@example.com", "password": "not-" + DEFAULT_PASSWORD}, format="json")

    assert DEFAULT_PASSWORD not in log_output.getvalue()
    assert DEFAULT_PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJl in a message", "c2lnbmF0dXJl"),
        ("key sk_test_51Habc123 used", "sk_test_51Habc123"),
        ("webhook whsec_abcdef", "whsec_abcdef"),
        ("client secret pi_3Nabc_secret_xyz", "pi_3Nabc_secret_xyz"),
        ('{"password": "hunter2hunter2"}', "hunter2hunter2"),
        ("password=hunter2hunter2&email=a", "hunter2hunter2"),
        ("VALUES ('bcrypt_sha256$$2b$12$abcdefghijklmnop', 'ada')", "$2b$12$abcdefghijklmnop"),
    ],
)
def test_redact_masks_credentials(text, secret):
    redacted = redact(text)

    assert secret not in redacted
    assert REDACTED in redacted


def test_redact_keeps_ordinary_text():
    text = "POST /api/v1/orders 201 order 6f1c… paid with WALLET"

    assert redact(text) == text
