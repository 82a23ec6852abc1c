from collections.abc import Mapping

from rest_framework import serializers

from catalog.exceptions import ActivationLimitCodesOnly, CodesUnitsReadOnly
from catalog.models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_ACTIVATION_LIMIT,
    MAX_PRICE,
    MAX_UNITS,
    NAME_MAX_LENGTH,
    DeliveryKind,
    Product,
)
from catalog.selectors import DEFAULT_ORDERING, ORDERINGS
from core.money import MoneyAmountField
from core.serializers import CachedFieldsModelSerializer


class ProductSerializer(CachedFieldsModelSerializer):
    price = MoneyAmountField(read_only=True)
    merchant_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "description",
            "price",
            "available_units",
            "is_active",
            "merchant_id",
            "created_at",
            "updated_at",
            "delivery_kind",
            "activation_limit",
        ]
        read_only_fields = fields


class ProductInputSerializer(serializers.Serializer):
    """Body of POST /products. Only these keys are read; `merchantId`, `id`, `createdAt` and the like are ignored."""

    name = serializers.CharField(min_length=1, max_length=NAME_MAX_LENGTH)
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, default="")
    price = MoneyAmountField(max_value=MAX_PRICE)
    # Required, except for CODES products, where it counts the codes and must not be sent at all.
    available_units = serializers.IntegerField(min_value=0, max_value=MAX_UNITS)
    is_active = serializers.BooleanField(default=True)
    delivery_kind = serializers.ChoiceField(choices=DeliveryKind.choices, default=DeliveryKind.NONE)
    activation_limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ACTIVATION_LIMIT,
        allow_null=True,
        required=False,
        help_text="CODES only: active instances per license key; null = unlimited.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = kwargs.get("data")
        if isinstance(data, Mapping) and data.get("delivery_kind") == DeliveryKind.CODES:
            self.fields["available_units"].required = False

    def validate(self, attrs: dict) -> dict:
        if attrs["delivery_kind"] == DeliveryKind.CODES:
            # Sent at all (any value, null too) is refused: the pool sets it.
            if "available_units" in self.initial_data:
                raise serializers.ValidationError({"available_units": [CodesUnitsReadOnly.default_detail]})
            attrs["available_units"] = 0
        elif attrs.get("activation_limit") is not None:
            raise serializers.ValidationError({"activation_limit": [ActivationLimitCodesOnly.default_detail]})
        return attrs


class ProductUpdateSerializer(ProductInputSerializer):
    """Body of PATCH /products/{id} (validated with `partial=True`): any subset of the create fields.

    Keys not sent keep their value; other keys (`merchantId`, `id`, `deliveryKind`, …) are
    ignored. What depends on the product's kind is checked by `product_update`.
    """

    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False)
    is_active = serializers.BooleanField(required=False)
    delivery_kind = None

    def validate(self, attrs: dict) -> dict:
        return attrs


class ProductFilterSerializer(serializers.Serializer):
    """Query parameters of GET /products. A bad value is a 400 naming the parameter."""

    search = serializers.CharField(
        required=False, allow_blank=True, max_length=NAME_MAX_LENGTH, help_text="Case-insensitive, name or description."
    )
    min_price = MoneyAmountField(positive=False, required=False, help_text="Only products priced at least this.")
    max_price = MoneyAmountField(positive=False, required=False, help_text="Only products priced at most this.")
    merchant_id = serializers.UUIDField(required=False, help_text="Only this merchant's products.")
    in_stock = serializers.BooleanField(
        required=False, help_text="true: at least one unit available; false: sold out. Omit for both."
    )
    ordering = serializers.ChoiceField(
        choices=list(ORDERINGS), required=False, default=DEFAULT_ORDERING, help_text="Default: newest first."
    )

    def validate(self, attrs: dict) -> dict:
        min_price, max_price = attrs.get("min_price"), attrs.get("max_price")
        if min_price is not None and max_price is not None and min_price > max_price:
            raise serializers.ValidationError({"max_price": ["Must not be less than minPrice."]})
        return attrs
