"""Every order has a delivery (delivery.Delivery): write one for each order placed before deliveries existed.

Those orders sold NONE products (the only kind there was), so nothing is
delivered but the status: paid and not wholly refunded → DELIVERED, refunded →
REVOKED, otherwise PENDING.
"""

from django.db import migrations

# Order status → the status of its delivery.
DELIVERY_STATUS = {"COMPLETED": "DELIVERED", "PARTIALLY_REFUNDED": "DELIVERED", "REFUNDED": "REVOKED"}
BATCH = 2000


def deliveries_for_existing_orders(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Delivery = apps.get_model("delivery", "Delivery")
    orders = Order.objects.exclude(id__in=Delivery.objects.values("order_id")).order_by("id")
    batch = []
    for order in orders.iterator(chunk_size=BATCH):
        status = DELIVERY_STATUS.get(order.status, "PENDING")
        batch.append(
            Delivery(
                order_id=order.id,
                buyer_id=order.buyer_id,
                product_id=order.product_id,
                status=status,
                delivered_at=order.created_at if status != "PENDING" else None,
                revoked_at=order.updated_at if status == "REVOKED" else None,
            )
        )
        if len(batch) == BATCH:
            Delivery.objects.bulk_create(batch)
            batch = []
    Delivery.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_partial_refunds"),
        ("delivery", "0001_initial"),
    ]

    operations = [migrations.RunPython(deliveries_for_existing_orders, migrations.RunPython.noop)]
