"""The `data` of a webhook event, and whose event it is: the order or product as the API shows it."""

from uuid import UUID

from djangorestframework_camel_case.util import camelize

from catalog.models import Product
from catalog.serializers import ProductSerializer
from notifications.models import EventType
from orders.models import Order
from orders.serializers import OrderSerializer


def event_data(*, event_type: str, subject_id: UUID) -> tuple[UUID, dict]:
    """Return (merchant id, `data`) of an event about an order or a product, camelCase like the API."""
    if event_type == EventType.PRODUCT_SOLD_OUT:
        product = Product.objects.get(pk=subject_id)
        return product.merchant_id, {"product": camelize(ProductSerializer(product).data)}
    order = Order.objects.prefetch_related("refunds").get(pk=subject_id)
    # No request in the serializer's context: the card client secret is never shown.
    return order.merchant_id, {"order": camelize(OrderSerializer(order).data)}
