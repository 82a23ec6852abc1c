"""The OpenAPI document: valid OpenAPI 3, exact paths, camelCase names, the Problem error shape."""

import json

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

AUTH_OPERATIONS = {
    "/api/v1/auth/register": "post",
    "/api/v1/auth/login": "post",
    "/api/v1/auth/refresh": "post",
    "/api/v1/auth/logout": "post",
    "/api/v1/auth/me": "get",
    "/api/v1/health": "get",
}
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    # Generating the document touches no rows; one fetch serves every test here.
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def property_names(schema: dict) -> set[str]:
    names = set()
    for component in schema["components"]["schemas"].values():
        names.update(component.get("properties", {}))
    return names


def problem_ref(operation: dict, status: str) -> str:
    return operation["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"]


def test_default_yaml_document_validates_as_openapi_3(api_client):
    response = api_client.get("/api/v1/schema")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    validate_schema(document)


def test_json_document_validates_as_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_generation_has_no_warnings_or_errors(tmp_path):
    # --fail-on-warn turns any drf-spectacular guess (an untyped field, a missing
    # serializer) into a failure, so every later app keeps the document exact.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.mark.parametrize(("path", "method"), AUTH_OPERATIONS.items())
def test_every_auth_and_health_operation_is_listed_at_its_exact_path(schema, path, method):
    assert method in schema["paths"][path]


def test_no_path_has_a_trailing_slash_or_leaves_the_prefix(schema):
    for path in schema["paths"]:
        assert path.startswith("/api/v1/")
        assert not path.endswith("/")


def test_internal_routes_are_not_documented(schema):
    assert "/api/v1/schema" not in schema["paths"]
    assert not any("unmatched" in path for path in schema["paths"])


def test_property_names_are_camel_case(schema):
    names = property_names(schema)

    assert {"accessToken", "refreshToken", "firstName", "lastName", "createdAt"} <= names
    assert [name for name in names if "_" in name] == []


def test_auth_shapes_match_the_contract(schema):
    components = schema["components"]["schemas"]

    assert set(components["User"]["properties"]) == {"id", "email", "role", "firstName", "lastName", "createdAt"}
    assert set(components["AuthResponse"]["properties"]) == {"user", "accessToken", "refreshToken"}
    assert set(components["TokenPair"]["properties"]) == {"accessToken", "refreshToken"}
    assert "password" not in json.dumps(components["User"])


def test_problem_component_is_the_error_shape(schema):
    problem = schema["components"]["schemas"]["Problem"]

    assert set(problem["properties"]) == {"type", "title", "status", "detail", "code", "errors"}
    assert {"status", "code", "detail", "title"} <= set(problem["required"])


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/v1/auth/register", "post", {"400", "409", "429", "500"}),
        ("/api/v1/auth/login", "post", {"400", "401", "429", "500"}),
        ("/api/v1/auth/refresh", "post", {"400", "401", "500"}),
        ("/api/v1/auth/logout", "post", {"400", "401", "500"}),
        ("/api/v1/auth/me", "get", {"401", "500"}),
        ("/api/v1/health", "get", {"500"}),
    ],
)
def test_error_responses_are_documented_as_problem_json(schema, path, method, statuses):
    operation = schema["paths"][path][method]

    assert statuses <= set(operation["responses"])
    for status in statuses:
        assert problem_ref(operation, status) == PROBLEM_REF


def test_success_responses_are_documented(schema):
    paths = schema["paths"]

    assert paths["/api/v1/auth/register"]["post"]["responses"]["201"]
    assert "204" in paths["/api/v1/auth/logout"]["post"]["responses"]
    assert paths["/api/v1/health"]["get"]["responses"]["503"]


def test_only_me_requires_a_bearer_token(schema):
    paths = schema["paths"]

    assert paths["/api/v1/auth/me"]["get"]["security"] == [{"jwtAuth": []}]
    for path in ("/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"):
        assert paths[path]["post"].get("security", []) in ([], [{}])


def test_swagger_ui_is_served(api_client):
    response = api_client.get("/api/v1/docs")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "/api/v1/schema" in html
