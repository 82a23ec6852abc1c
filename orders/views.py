from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.views import UUID_PATTERN
from core.idempotency import idempotent
from core.schema import problem_responses
from core.views import OptionsWithoutCredentials
from delivery.serializers import LibraryItemSerializer
from orders import selectors, services
from orders.models import PaymentMethod
from orders.serializers import (
    OrderCreateSerializer,
    OrderListQuerySerializer,
    OrderSerializer,
    RefundRequestSerializer,
    new_order_data,
)
from orders.services.webhooks import webhook_receive

# UUID_PATTERN would otherwise be documented as a bare string pattern.
ORDER_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Order id.")


def _refund_commits_as_it_goes(request) -> bool:
    # A card refund commits its PENDING record before Stripe is asked and holds no lock
    # during the call (orders.services.refunds.card): its service owns its transactions, and
    # the response is stored after them. A second refund is refused by the order's
    # state either way, so the wallet refund loses nothing by it.
    return False


def _moves_money_at_once(request) -> bool:
    # A card order moves no money when it is created, and its reservation must
    # commit before the gateway call so the product row is not locked during it.
    data = request.data
    return not (isinstance(data, dict) and data.get("payment_method") == PaymentMethod.GATEWAY)


class OrderViewSet(
    OptionsWithoutCredentials, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Place orders, read your purchases and sales, refund a sale."""

    serializer_class = OrderSerializer
    # Only a well-formed UUID reaches the views: `[0-9a-fA-F-]{36}` let
    # "000…0" (36 zeros) through to the UUID column, where it was a 500.
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        query = OrderListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.order_list_for_buyer(user=self.request.user, status=query.validated_data.get("status"))

    def get_object(self):
        return selectors.order_get_for_participant(user=self.request.user, order_id=self.kwargs["pk"])

    @extend_schema(
        operation_id="orders_list",
        parameters=[OrderListQuerySerializer],
        description="The caller's purchases, newest first.",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="orders_retrieve",
        parameters=[ORDER_ID],
        description="An order the caller bought or sold; anyone else: 404.",
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        operation_id="orders_create",
        request=OrderCreateSerializer,
        responses={201: OrderSerializer},
        description=(
            "Buy a product. WALLET orders are paid at once and answer COMPLETED; GATEWAY orders answer "
            "PENDING with the PaymentIntent to confirm with Stripe."
        ),
    )
    @problem_responses(404, 409, 502, 503)
    @idempotent(in_transaction=_moves_money_at_once)
    def create(self, request):
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = services.order_purchase(
            buyer=request.user,
            product_id=data["product_id"],
            quantity=data["quantity"],
            method=data["payment_method"],
        )
        return Response(new_order_data(order, context=self.get_serializer_context()), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="orders_refund",
        parameters=[ORDER_ID],
        request=RefundRequestSerializer,
        responses={200: OrderSerializer},
        description=(
            "Refund `amount` (all that is left when omitted) of a COMPLETED or PARTIALLY_REFUNDED order: the "
            "selling merchant, or an operator (staff, not a MERCHANT account, holding the refund permission); anyone "
            "else 404 (the buyer 403). More than is left: 400 `amount_above_refundable`. The order stays "
            "PARTIALLY_REFUNDED until its refunds reach its total, then is REFUNDED, its delivery is revoked and "
            "its units return to stock (a CODES product's codes are burnt instead: they never return). "
            "WALLET orders are refunded at once. Card orders are refunded at Stripe with no lock held: if Stripe "
            "refuses, 502 `gateway_error` and nothing changes; if Stripe cannot be reached, 502 and the refund "
            "stays PENDING until the same request (same Idempotency-Key) is sent again, Stripe's refund event "
            "arrives or `reconcile --gateway --fix` settles it to what Stripe did. A merchant balance below its "
            "share of the refund is a 409 `insufficient_funds`."
        ),
    )
    @problem_responses(403, 409, 502, 503)
    @action(detail=True, methods=["post"])
    @idempotent(in_transaction=_refund_commits_as_it_goes)
    def refund(self, request, pk=None):
        body = RefundRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = services.order_refund(
            order_id=pk,
            actor=request.user,
            amount=body.validated_data.get("amount"),
            reason=body.validated_data["reason"],
            request_key=request.headers.get("Idempotency-Key", ""),
        )
        return Response(self.get_serializer(order).data)

    @extend_schema(
        operation_id="orders_merchant_sales",
        parameters=[OrderListQuerySerializer],
        # A page of orders, like GET /orders.
        responses={200: OrderSerializer(many=True)},
        description="Orders for the caller's products (merchants only), newest first.",
    )
    @problem_responses(403)
    @action(detail=False, methods=["get"], url_path="merchant/sales")
    def merchant_sales(self, request):
        if not request.user.is_merchant:
            raise PermissionDenied("Only merchants have sales.")
        query = OrderListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        orders = selectors.order_list_for_merchant(user=request.user, status=query.validated_data.get("status"))
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class LibraryView(OptionsWithoutCredentials, ListAPIView):
    """The buyer's library: every purchase paid for and not fully refunded."""

    serializer_class = LibraryItemSerializer

    def get_queryset(self):
        return selectors.order_library_for_buyer(user=self.request.user)

    @extend_schema(
        operation_id="library_list",
        description=(
            "The caller's COMPLETED and PARTIALLY_REFUNDED orders, newest first, with what each delivers; "
            "`status` is the delivery's (REVOKED when an operator revoked it)."
        ),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    outcome = serializers.CharField(
        help_text="RECEIVED (stored; the worker processes it within seconds), or for a redelivery what "
        "processing did: PROCESSED, IGNORED or FAILED (kept for operators to reprocess)."
    )


class StripeWebhookView(APIView):
    """Receive Stripe events; the signature on the raw body is the only credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="payments_stripe_webhook",
        tags=["payments"],
        request={"application/json": {"type": "object", "description": "A Stripe event, signed."}},
        responses={200: WebhookAckSerializer},
        auth=[],
        description=(
            "Stripe webhook endpoint. `Stripe-Signature` is verified against STRIPE_WEBHOOK_SECRET on the raw "
            "body (5-minute tolerance both ways); a bad or missing signature is 400 `invalid_signature` and has "
            "no effect. Each event is stored once by its id and answered at once; the background worker processes it. "
            "A redelivery answers 200 and changes nothing."
        ),
    )
    @problem_responses(503)
    def post(self, request):
        # request.body, not request.data: the signature covers the exact bytes Stripe sent.
        record = webhook_receive(payload=request.body, signature_header=request.headers.get("Stripe-Signature"))
        return Response({"received": True, "outcome": record.outcome})
