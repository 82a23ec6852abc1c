from rest_framework import serializers

from core.outbox import EventType
from core.serializers import CachedFieldsModelSerializer
from notifications.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from notifications.urlguard import UrlRefused, url_resolve


class WebhookEndpointInputSerializer(serializers.Serializer):
    """Body of POST /webhook-endpoints (and, partial, of PATCH, with isActive)."""

    url = serializers.CharField(max_length=2048)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1, max_length=len(EventType.values)
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_url(self, url: str) -> str:
        try:
            url_resolve(url)
        except UrlRefused as refused:
            raise serializers.ValidationError(str(refused)) from refused
        return url


class WebhookEndpointUpdateSerializer(WebhookEndpointInputSerializer):
    is_active = serializers.BooleanField(required=False)


class WebhookEndpointSerializer(CachedFieldsModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "is_active", "created_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown only in this answer: store it now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookDeliverySerializer(CachedFieldsModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "next_attempt_at",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False, allow_blank=True)
