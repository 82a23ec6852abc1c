"""Delivery's wire shapes (API.md, Digital delivery)."""

from rest_framework import serializers

from catalog.models import DeliveryKind
from delivery.models import DeliveryStatus


class ProductFileSerializer(serializers.Serializer):
    file_name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()


class ProductFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=False,
        help_text="The product's file; at most DELIVERY_MAX_FILE_BYTES bytes (413 `request_too_large` above).",
    )


class DeliveredCodeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()


class DownloadSerializer(serializers.Serializer):
    file_name = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.URLField(help_text="Signed, absolute, needs no token; valid until expiresAt.")
    expires_at = serializers.DateTimeField()
    downloads_remaining = serializers.IntegerField()


class DeliverySerializer(serializers.Serializer):
    order_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    codes = DeliveredCodeSerializer(many=True)
    download = DownloadSerializer(allow_null=True)


class LibraryItemSerializer(serializers.Serializer):
    order_id = serializers.UUIDField(source="id")
    product_id = serializers.UUIDField()
    product_name = serializers.CharField()
    delivery_kind = serializers.ChoiceField(choices=DeliveryKind.choices, source="product.delivery_kind")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, source="delivery_status")
    purchased_at = serializers.DateTimeField(source="created_at")
