"""Delivery's wire shapes (API.md, Digital delivery; License keys)."""

from rest_framework import serializers

from catalog.models import DeliveryKind
from core.serializers import CachedFieldsModelSerializer
from delivery.models import (
    CODE_MAX_LENGTH,
    CODES_PER_UPLOAD,
    INSTANCE_NAME_MAX_LENGTH,
    Code,
    CodeStatus,
    DeliveryStatus,
)


class CodeTextField(serializers.CharField):
    """One code as uploaded: trimmed, 1 to 255 printable characters (no control or invisible characters)."""

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=CODE_MAX_LENGTH, **kwargs)

    def to_internal_value(self, data):
        # A JSON number is refused rather than turned into text: 00123 would arrive as "123".
        if not isinstance(data, str):
            raise serializers.ValidationError("Each code must be a string.")
        code = super().to_internal_value(data)
        if not code.isprintable():
            raise serializers.ValidationError("Codes are printable characters only.")
        return code


class CodeListField(serializers.ListField):
    """1 to 1000 codes; the errors of bad ones are one flat list naming each by its position (from 0)."""

    def __init__(self, **kwargs):
        super().__init__(child=CodeTextField(), min_length=1, max_length=CODES_PER_UPLOAD, **kwargs)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError(
                [f"Code {index}: {message}" for index, messages in exc.detail.items() for message in messages]
            ) from None


class CodesUploadSerializer(serializers.Serializer):
    """Body of POST /products/{id}/codes."""

    codes = CodeListField(help_text="1 to 1000 codes, each trimmed, 1 to 255 printable characters.")


class CodesAddedSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Duplicates, in the request or already in the pool.")
    available_units = serializers.IntegerField()


class CodeSerializer(CachedFieldsModelSerializer):
    """A code as its merchant sees it: never the code, only its last characters."""

    order_id = serializers.UUIDField(
        source="delivery.order_id", allow_null=True, read_only=True, help_text="The order holding it, if any."
    )

    class Meta:
        model = Code
        fields = ["id", "status", "hint", "order_id", "created_at"]
        read_only_fields = fields


class CodeListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CodeStatus.choices, required=False, allow_blank=True)


class LicenseKeyField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=CODE_MAX_LENGTH, **kwargs)


class LicenseValidateSerializer(serializers.Serializer):
    key = LicenseKeyField()
    instance_id = serializers.UUIDField(required=False, allow_null=True)


class LicenseActivateSerializer(serializers.Serializer):
    key = LicenseKeyField()
    instance_name = serializers.CharField(min_length=1, max_length=INSTANCE_NAME_MAX_LENGTH)


class LicenseDeactivateSerializer(serializers.Serializer):
    key = LicenseKeyField()
    instance_id = serializers.UUIDField()


class LicenseInstanceSerializer(serializers.Serializer):
    instance_id = serializers.UUIDField(source="id")
    instance_name = serializers.CharField()
    created_at = serializers.DateTimeField()


class LicenseStateSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["ACTIVE", "REVOKED"])
    product_id = serializers.UUIDField(source="code.product_id")
    activation_limit = serializers.IntegerField(source="code.product.activation_limit", allow_null=True)
    activations = serializers.IntegerField(help_text="Active instances of this key.")
    instance = LicenseInstanceSerializer(allow_null=True)


class LicenseActivatedSerializer(serializers.Serializer):
    instance_id = serializers.UUIDField(source="activation.id")
    instance_name = serializers.CharField(source="activation.instance_name")
    activations = serializers.IntegerField()
    activation_limit = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(source="activation.created_at")


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
