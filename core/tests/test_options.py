"""OPTIONS on any API path needs no token: never a 401 (nor a 403), with no token or a bad one."""

import re
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


def api_paths() -> list[str]:
    """Every path of the OpenAPI document, with a made-up id wherever it takes one."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sorted(re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path) for path in paths)


def test_the_document_lists_the_paths_that_need_a_token():
    assert {"/api/v1/wallet", "/api/v1/orders", "/api/v1/auth/me"} <= set(api_paths())


@pytest.mark.parametrize("path", api_paths())
@pytest.mark.parametrize(
    "authorization",
    [pytest.param(None, id="no-token"), pytest.param("Bearer not-a-token", id="bad-token")],
)
def test_options_needs_no_token(api_client, path, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = api_client.options(path, **headers)

    assert response.status_code == 200, (path, response.content)
    assert response["Allow"]
