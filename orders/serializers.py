import copy
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import MoneyAmountField
from core.serializers import CachedFieldsModelSerializer
from orders.models import Order, OrderStatus, PaymentMethod, Refund, RefundStatus

# A timestamp as the API renders it (OrderSerializer's created_at), for SQL that writes an API object itself.
API_DATETIME = serializers.DateTimeField()


class OrderCreateSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    quantity = serializers.IntegerField(min_value=1, max_value=100, default=1)


class RefundRequestSerializer(serializers.Serializer):
    """Body of POST /orders/{id}/refund; an empty body refunds all that is left."""

    amount = MoneyAmountField(required=False, help_text="Omitted: all that is left to refund.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundSerializer(CachedFieldsModelSerializer):
    amount = MoneyAmountField(read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "amount", "status", "reason", "created_at"]
        read_only_fields = fields


class OrderListQuerySerializer(serializers.Serializer):
    # `?status=` (empty) lists every status, as an empty optional query value does everywhere;
    # allow_blank documents that "" in the schema's enum.
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False, allow_blank=True)


class PaymentSerializer(serializers.Serializer):
    provider = serializers.CharField()
    payment_intent_id = serializers.CharField()
    client_secret = serializers.CharField(
        allow_null=True, help_text="Only shown to the buyer, and only while the order is PENDING."
    )
    expires_at = serializers.DateTimeField(allow_null=True)


def new_order_without_refunds(order: Order) -> Order:
    """Return a copy of an order created in this transaction, to render: its refunds known to be none.

    What prefetch_related("refunds") would leave (a queryset evaluated to no
    rows), so rendering reads and compiles nothing for them. A copy: the
    caller's object still reads its refunds as they come.
    """
    fresh = copy.copy(order)
    refunds = Refund.objects.none()
    refunds._result_cache, refunds._prefetch_done = [], True
    fresh._prefetched_objects_cache = {"refunds": refunds}
    return fresh


class OrderSerializer(CachedFieldsModelSerializer):
    product_id = serializers.UUIDField(read_only=True)
    buyer_id = serializers.UUIDField(read_only=True)
    merchant_id = serializers.UUIDField(read_only=True)
    unit_price = MoneyAmountField(positive=False, read_only=True)
    total_amount = MoneyAmountField(positive=False, read_only=True)
    payment = serializers.SerializerMethodField()
    refunded_amount = serializers.SerializerMethodField()
    refunds = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "product_id",
            "product_name",
            "quantity",
            "unit_price",
            "total_amount",
            "currency",
            "status",
            "payment_method",
            "buyer_id",
            "merchant_id",
            "created_at",
            "updated_at",
            "payment",
            "refunded_amount",
            "refunds",
        ]
        read_only_fields = fields

    @extend_schema_field(RefundSerializer(many=True))
    def get_refunds(self, order: Order) -> list:
        return RefundSerializer(order.refunds.all(), many=True).data

    @extend_schema_field(MoneyAmountField(positive=False, help_text="What the SUCCEEDED refunds gave back."))
    def get_refunded_amount(self, order: Order) -> str:
        # From the refunds fetched for `refunds` (prefetched on lists), not another query.
        total = sum((r.amount for r in order.refunds.all() if r.status == RefundStatus.SUCCEEDED), Decimal("0.00"))
        return f"{total:.2f}"

    @extend_schema_field(PaymentSerializer(allow_null=True))
    def get_payment(self, order: Order) -> dict | None:
        if order.payment_method != PaymentMethod.GATEWAY or not order.payment_intent_id:
            return None
        request = self.context.get("request")
        # The client secret lets its holder confirm the payment: the buyer needs it,
        # the merchant does not, and it is useless once the order left PENDING.
        show_secret = request is not None and request.user.id == order.buyer_id and order.status == OrderStatus.PENDING
        return PaymentSerializer(
            {
                "provider": order.payment_provider,
                "payment_intent_id": order.payment_intent_id,
                "client_secret": order.payment_client_secret if show_secret else None,
                "expires_at": order.expires_at,
            }
        ).data


def new_order_data(order: Order, *, context: dict) -> dict:
    """Render an order created in this request (its refunds known to be none) for the answer.

    A wallet purchase on PostgreSQL has it rendered already: the purchase function
    builds the API's object for the order.completed event, key for key as this
    serializer would (orders/migrations/0008), and hands it back; rendering it a
    second time here was a tenth of the purchase's CPU. The tests compare the two
    renderings (orders/tests/test_events.py, test_api.py).
    """
    rendered = getattr(order, "rendered_by_sql", None)
    if rendered is not None:
        return rendered
    return OrderSerializer(new_order_without_refunds(order), context=context).data
