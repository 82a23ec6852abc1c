import factory
from django.utils import timezone

from accounts.tests.factories import MerchantFactory
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.signing import secret_generate


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    merchant = factory.SubFactory(MerchantFactory)
    # A public address literal: checking it needs no DNS.
    url = "https://93.184.215.14/payments"
    events = factory.LazyFunction(lambda: ["order.completed"])
    secret = factory.LazyFunction(secret_generate)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event_id = factory.Faker("uuid4")
    event_type = "order.completed"
    payload = factory.LazyAttribute(lambda d: {"id": str(d.event_id), "type": d.event_type, "data": {}})
    next_attempt_at = factory.LazyFunction(timezone.now)
