from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import MoneyAmountField
from orders.models import Order, OrderStatus, PaymentMethod


class OrderCreateSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    quantity = serializers.IntegerField(min_value=1, max_value=100, default=1)


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


class OrderSerializer(serializers.ModelSerializer):
    product_id = serializers.UUIDField(read_only=True)
    buyer_id = serializers.UUIDField(read_only=True)
    merchant_id = serializers.UUIDField(read_only=True)
    unit_price = MoneyAmountField(positive=False, read_only=True)
    total_amount = MoneyAmountField(positive=False, read_only=True)
    payment = serializers.SerializerMethodField()

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
        ]
        read_only_fields = fields

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
