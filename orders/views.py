from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from orders import selectors, services
from orders.serializers import OrderCreateSerializer, OrderListQuerySerializer, OrderSerializer
from paymentflow.idempotency import idempotent


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Place orders, read your purchases and sales, refund a sale."""

    serializer_class = OrderSerializer
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    # Documented error statuses per action (paymentflow.schema); @actions pass their own.
    problem_statuses: dict | tuple = {"create": (404, 409, 422, 502, 503)}

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

    @extend_schema(operation_id="orders_retrieve", description="An order the caller bought or sold; anyone else: 404.")
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
    @idempotent
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
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="orders_refund",
        request=None,
        responses={200: OrderSerializer},
        description="Refund a COMPLETED order in full (selling merchant or staff).",
    )
    @action(detail=True, methods=["post"], problem_statuses=(403, 409, 422))
    @idempotent
    def refund(self, request, pk=None):
        order = services.order_refund(order_id=pk, actor=request.user)
        return Response(self.get_serializer(order).data)

    @extend_schema(
        operation_id="orders_merchant_sales",
        parameters=[OrderListQuerySerializer],
        description="Orders for the caller's products (merchants only), newest first.",
    )
    @action(detail=False, methods=["get"], url_path="merchant/sales", problem_statuses=(403,))
    def merchant_sales(self, request):
        if not request.user.is_merchant:
            raise PermissionDenied("Only merchants have sales.")
        query = OrderListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        orders = selectors.order_list_for_merchant(user=request.user, status=query.validated_data.get("status"))
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
