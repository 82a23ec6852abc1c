"""URL map: the API under `API_PREFIX`, the two back offices, docs and schema."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from backoffice.sites import merchant_site
from paymentflow.health import HealthView

prefix = settings.API_PREFIX


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request, unmatched=""):
    """Answer any unknown path under the API prefix with a problem+json 404."""
    raise NotFound("No such endpoint.")


api_patterns = [
    path("health", HealthView.as_view(), name="health"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("auth/", include("accounts.urls")),
    path("", include("wallets.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
]

if settings.BENCH:
    from paymentflow import bench

    api_patterns.append(path("bench/ok", bench.ok, name="bench-ok"))

urlpatterns = [
    path("admin/", admin.site.urls),
    path("merchant/", merchant_site.urls),
    path(f"{prefix}/", include(api_patterns)),
    re_path(rf"^{prefix}/(?P<unmatched>.*)$", api_not_found, name="api-not-found"),
]

handler400 = "paymentflow.views.bad_request"
handler404 = "paymentflow.views.not_found"
handler500 = "paymentflow.views.server_error"
