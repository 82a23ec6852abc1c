from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from catalog.permissions import IsMerchant
from core.pagination import PageLimitPagination
from core.schema import problem_responses
from core.views import OptionsWithoutCredentials
from notifications import selectors, services
from notifications.serializers import (
    DeliveryListQuerySerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
)

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ENDPOINT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Endpoint id.")
DELIVERY_ID = OpenApiParameter("delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Delivery id.")


class WebhookEndpointViewSet(OptionsWithoutCredentials, viewsets.GenericViewSet):
    """A merchant's webhook endpoints and their delivery log; another merchant's are 404."""

    serializer_class = WebhookEndpointSerializer
    pagination_class = PageLimitPagination
    permission_classes = [IsAuthenticated, IsMerchant]
    lookup_field = "id"
    lookup_value_regex = UUID_PATTERN

    @extend_schema(
        operation_id="webhook_endpoints_create",
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        description=(
            "Subscribe an https URL to event types. The answer holds the signing `secret`, "
            "shown only here. URLs resolving to internal addresses are refused (400)."
        ),
    )
    @problem_responses(403)
    def create(self, request):
        serializer = WebhookEndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(merchant=request.user, **serializer.validated_data)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="webhook_endpoints_list", responses={200: WebhookEndpointSerializer(many=True)})
    @problem_responses(403)
    def list(self, request):
        page = self.paginate_queryset(selectors.endpoint_list_for_merchant(merchant=request.user))
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_retrieve", parameters=[ENDPOINT_ID], responses={200: WebhookEndpointSerializer}
    )
    @problem_responses(403)
    def retrieve(self, request, **kwargs):
        endpoint = selectors.endpoint_get_for_merchant(merchant=request.user, endpoint_id=kwargs["id"])
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhook_endpoints_partial_update",
        parameters=[ENDPOINT_ID],
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer},
        description="Change url, events, description or isActive (false: no new deliveries).",
    )
    @problem_responses(403)
    def partial_update(self, request, **kwargs):
        serializer = WebhookEndpointUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            merchant=request.user, endpoint_id=kwargs["id"], **serializer.validated_data
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_destroy", parameters=[ENDPOINT_ID], responses={204: None})
    @problem_responses(403)
    def destroy(self, request, **kwargs):
        services.webhook_endpoint_delete(merchant=request.user, endpoint_id=kwargs["id"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="webhook_endpoints_deliveries",
        parameters=[ENDPOINT_ID, DeliveryListQuerySerializer],
        responses={200: WebhookDeliverySerializer(many=True)},
        description="The endpoint's delivery log, newest first.",
    )
    @problem_responses(403)
    @action(detail=True, methods=["get"], url_path="deliveries")
    def deliveries(self, request, **kwargs):
        query = DeliveryListQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        deliveries = selectors.delivery_list_for_endpoint(
            merchant=request.user, endpoint_id=kwargs["id"], status=query.validated_data.get("status", "")
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_delivery_retry",
        parameters=[ENDPOINT_ID, DELIVERY_ID],
        request=None,
        responses={202: WebhookDeliverySerializer},
        description="Send the delivery again soon (one more attempt). 409 `endpoint_disabled` if the endpoint is off.",
    )
    @problem_responses(403, 409)
    @action(
        detail=True,
        methods=["post"],
        url_path=f"deliveries/(?P<delivery_id>{UUID_PATTERN})/retry",
        url_name="delivery-retry",
    )
    def retry(self, request, **kwargs):
        delivery = services.webhook_delivery_retry(
            merchant=request.user, endpoint_id=kwargs["id"], delivery_id=kwargs["delivery_id"]
        )
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
