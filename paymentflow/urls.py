"""URL map: the API under `API_PREFIX`, the two back offices, docs and schema."""

from django.conf import settings
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice.sites import merchant_site, operator_site
from core.health import HealthView
from core.metrics import MetricsView
from core.views import api_not_found

prefix = settings.API_PREFIX


api_patterns = [
    path("health", HealthView.as_view(), name="health"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("auth/", include("accounts.urls")),
    path("", include("wallets.urls")),
    path("", include("catalog.urls")),
    path("", include("delivery.urls")),
    path("", include("orders.urls")),
    path("", include("notifications.urls")),
]

if settings.BENCH:
    api_patterns.append(path("bench/", include("bench.app.urls")))

urlpatterns = [
    path("admin/", operator_site.urls),
    path("merchant/", merchant_site.urls),
    path(f"{prefix}/", include(api_patterns)),
    re_path(rf"^{prefix}/(?P<unmatched>.*)$", api_not_found, name="api-not-found"),
]

handler400 = "core.views.bad_request"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
