import functools
import uuid

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from catalog import selectors, services
from catalog.cache import (
    product_detail_cache_hit,
    product_detail_cached,
    product_list_page_cache_hit,
    product_list_page_cached,
)
from catalog.models import Product
from catalog.permissions import IsMerchant
from catalog.serializers import (
    ProductFilterSerializer,
    ProductInputSerializer,
    ProductSerializer,
    ProductUpdateSerializer,
)
from core.pagination import PageLimitPagination
from core.schema import problem_responses
from core.views import OptionsWithoutCredentials

# `{id}` only matches a UUID, so `/products/merchant/my-products` can never be taken
# for a product id and `/products/not-a-uuid` is a plain 404.
UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# The UUID pattern above would otherwise be documented as a bare string pattern.
PRODUCT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Product id.")


def _serialize_many(products: list[Product]) -> list:
    return ProductSerializer(products, many=True).data


def _render(data) -> bytes:
    # Cached pages are stored rendered: a hit is answered with these bytes, without
    # serializing, camelizing or encoding the products again.
    return api_settings.DEFAULT_RENDERER_CLASSES[0]().render(data)


def _list_cache_params(request) -> dict:
    # The whole body, links included, is cached per absolute URL (scheme, host, the query as sent).
    return {"url": request.build_absolute_uri()}


def _validated_filters(request) -> dict:
    filter_serializer = ProductFilterSerializer(data=request.query_params.dict())
    filter_serializer.is_valid(raise_exception=True)
    return filter_serializer.validated_data


class ProductViewSet(OptionsWithoutCredentials, viewsets.GenericViewSet):
    """Merchants' products: public catalogue (cached), owner-only changes, the merchant's own list."""

    serializer_class = ProductSerializer
    pagination_class = PageLimitPagination
    lookup_field = "id"
    lookup_value_regex = UUID_PATTERN

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [AllowAny()]
        return [IsAuthenticated(), IsMerchant()]

    @extend_schema(
        operation_id="products_list",
        parameters=[ProductFilterSerializer],
        responses={200: ProductSerializer(many=True)},
        description=(
            "Active, non-deleted products, newest first unless `ordering` says otherwise. "
            "Served from a cache (PRODUCT_CACHE_TTL) that every product change invalidates on commit."
        ),
    )
    def list(self, request):
        # The whole body, links included, is cached per absolute URL (scheme, host, the
        # query as sent): a hit answers without validating, querying or rendering anything.
        # Only a query that validated and a page that exists (in `build`) is ever cached.
        def build() -> bytes:
            queryset = selectors.product_list_public(filters=_validated_filters(request))
            page = self.paginate_queryset(queryset)
            return _render(self.get_paginated_response(_serialize_many(page)).data)

        body = product_list_page_cached(params=_list_cache_params(request), build=build)
        return HttpResponse(body, content_type="application/json")

    @extend_schema(
        operation_id="products_retrieve",
        parameters=[PRODUCT_ID],
        responses={200: ProductSerializer},
        description="An active, non-deleted product (cached like the list).",
    )
    def retrieve(self, request, **kwargs):
        product_id = uuid.UUID(kwargs[self.lookup_field])
        body = product_detail_cached(
            product_id=product_id,
            build=lambda: _render(ProductSerializer(selectors.product_get_public(product_id=product_id)).data),
        )
        return HttpResponse(body, content_type="application/json")

    @extend_schema(
        operation_id="products_create",
        request=ProductInputSerializer,
        responses={201: ProductSerializer},
        description="Put a product on sale (merchants only).",
    )
    @problem_responses(403)
    def create(self, request):
        serializer = ProductInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(merchant=request.user, **serializer.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="products_partial_update",
        parameters=[PRODUCT_ID],
        request=ProductUpdateSerializer,
        responses={200: ProductSerializer},
        description=(
            "Change name, description, price, availableUnits or isActive of your own product. "
            "Other keys (merchantId, id, …) are ignored."
        ),
    )
    @problem_responses(403)
    def partial_update(self, request, **kwargs):
        serializer = ProductUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = services.product_update(
            product_id=kwargs[self.lookup_field], merchant=request.user, **serializer.validated_data
        )
        return Response(ProductSerializer(product).data)

    @extend_schema(
        operation_id="products_destroy",
        parameters=[PRODUCT_ID],
        responses={204: None},
        description="Soft-delete your own product: it leaves the catalogue, past orders keep it.",
    )
    @problem_responses(403)
    def destroy(self, request, **kwargs):
        services.product_delete(product_id=kwargs[self.lookup_field], merchant=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="products_my_products",
        responses={200: ProductSerializer(many=True)},
        description="The caller's own products, inactive included, deleted excluded, newest first.",
    )
    @problem_responses(403)
    @action(detail=False, methods=["get"], url_path="merchant/my-products", url_name="my-products")
    def my_products(self, request):
        page = self.paginate_queryset(selectors.product_list_for_merchant(merchant=request.user))
        return self.get_paginated_response(_serialize_many(page))


# What a request may ask for and still be answered by cached_public_reads: what DRF's content
# negotiation answers with the JSON renderer too (the one renderer: anything else is DRF's 406).
_JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})


def cached_public_reads(view, *, hit):
    """Wrap the router's view of a product route: a cached public GET is answered before DRF's dispatch.

    `hit(request, **kwargs)` returns the cached body or None. A GET without
    credentials that accepts JSON is all that DRF's request wrapping,
    authentication, permission check (AllowAny) and content negotiation decide
    nothing about; for it, a hit is answered here with the bytes, status and
    headers the view itself gives (tests compare the two), at about the cost of
    the cache's one round trip: a third of a hit's CPU was DRF's dispatch (bench/RESULTS.md).
    Anything else, and every miss, goes to the view: a token (DRF authenticates
    it, a bad one is 401), another Accept (406), `?format=` on the detail, the
    other methods. The wrapper carries the view's attributes (functools.wraps),
    so the router's URL names, CSRF exemption and the OpenAPI schema see the view.
    """
    # The Allow header DRF's view sends: its bound actions, HEAD with GET, and OPTIONS, in DRF's order.
    bound = {*view.actions, "options", *(["head"] if "get" in view.actions else [])}
    allowed = ", ".join(method.upper() for method in view.cls.http_method_names if method in bound)

    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        meta = request.META
        if (
            request.method == "GET"
            and "HTTP_AUTHORIZATION" not in meta
            and meta.get("HTTP_ACCEPT", "").strip() in _JSON_ACCEPTS
        ):
            body = hit(request, **kwargs)
            if body is not None:
                return HttpResponse(body, content_type="application/json", headers={"Allow": allowed})
        return view(request, *args, **kwargs)

    return answer


def product_detail_hit(request, **kwargs) -> bytes | None:
    # The detail ignores its query, except DRF's `?format=`, which it may refuse: that one goes to DRF.
    if request.META.get("QUERY_STRING") and api_settings.URL_FORMAT_OVERRIDE in request.GET:
        return None
    return product_detail_cache_hit(product_id=kwargs[ProductViewSet.lookup_field])


def product_list_hit(request, **kwargs) -> bytes | None:
    return product_list_page_cache_hit(params=_list_cache_params(request))
