"""What every API view shares: OPTIONS without credentials, and the error pages under the API prefix
(unknown paths, and requests that never reach a DRF view)."""

from django.conf import settings
from django.views.defaults import bad_request as html_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny

from core.errors import InvalidInput, NotFound, ServerError, problem_response


class OptionsWithoutCredentials:
    """Answer OPTIONS without reading a token or checking permissions (never a 401 or 403).

    OPTIONS only describes an endpoint (the methods it allows, its fields), and
    browsers send it without credentials. Mixed into every API view; the
    schema test asserts that every path under the prefix honours it.
    """

    def get_authenticators(self):
        # No request while the OpenAPI generator inspects the view.
        if getattr(self.request, "method", None) == "OPTIONS":
            return []
        return super().get_authenticators()

    def check_permissions(self, request):
        if request.method != "OPTIONS":
            super().check_permissions(request)


class FirstRendererOnNotAcceptable(DefaultContentNegotiation):
    """Pick the first renderer (JSON) instead of answering 406 to an Accept header no renderer matches.

    For views whose body is not JSON (CSV, Prometheus text): they return a plain
    Django response that no renderer touches, so negotiation only decides how
    their errors are rendered, and those stay problem+json whatever was asked for.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


def _is_api(request) -> bool:
    return request.path.startswith(f"/{settings.API_PREFIX}/")


def bad_request(request, exception=None):
    # Django answers a disallowed Host or another SuspiciousOperation here.
    if _is_api(request):
        return problem_response(InvalidInput("Bad request."))
    return html_bad_request(request, exception)


def not_found(request, exception=None):
    if _is_api(request):
        return problem_response(NotFound())
    return page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return problem_response(ServerError())
    return html_server_error(request)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request, unmatched=""):
    """Answer any unknown path under the API prefix with a problem+json 404."""
    raise NotFound("No such endpoint.")
