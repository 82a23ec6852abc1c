"""Cross-origin requests (docs/api.md, Cross-origin): allowed origins get the CORS headers, others none."""

import pytest

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"
OTHER = "https://evil.example.com"


@pytest.fixture(autouse=True)
def _allowed_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]


def preflight(client, path: str, origin: str, method: str = "POST", headers: str = "authorization,content-type"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_a_preflight_from_an_allowed_origin_allows_the_api_headers(api_client):
    headers = "authorization,content-type,idempotency-key"

    response = preflight(api_client, "/api/v1/wallet/deposit", APP, headers=headers)

    assert response.status_code in (200, 204)
    assert response["Access-Control-Allow-Origin"] == APP
    allowed = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"authorization", "content-type", "idempotency-key"}
    assert "POST" in response["Access-Control-Allow-Methods"]
    # The bearer token is the credential: no cookies across origins.
    assert "Access-Control-Allow-Credentials" not in response
    assert "origin" in response["Vary"].lower()


def test_an_authenticated_call_from_an_allowed_origin_exposes_the_api_headers(auth_client, user):
    response = auth_client(user).post(
        "/api/v1/wallet/deposit",
        {"amount": "5.00"},
        format="json",
        HTTP_ORIGIN=APP,
        HTTP_IDEMPOTENCY_KEY="cors-1",
    )

    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == APP
    exposed = {name.strip() for name in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"Idempotent-Replayed", "Retry-After", "X-Request-ID"}


def test_errors_carry_the_headers_too(api_client):
    response = api_client.get("/api/v1/wallet", HTTP_ORIGIN=APP)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == APP


@pytest.mark.parametrize("origin", [OTHER, "http://app.example.com", "https://app.example.com.evil.test", "null"])
def test_any_other_origin_gets_no_allow_origin(api_client, origin):
    preflight_response = preflight(api_client, "/api/v1/wallet/deposit", origin)
    response = api_client.get("/api/v1/products", HTTP_ORIGIN=origin)

    assert "Access-Control-Allow-Origin" not in preflight_response
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_only_api_paths_answer_cross_origin(api_client):
    response = preflight(api_client, "/admin/login/", APP)
    page = api_client.get("/admin/login/", HTTP_ORIGIN=APP)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in page


def test_no_origin_is_allowed_by_default(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = []

    response = preflight(api_client, "/api/v1/wallet/deposit", APP)

    assert "Access-Control-Allow-Origin" not in response
