"""The delivery checks: code stock, each order's delivery and codes, no code sold twice."""

import pytest
from django.db.models import F

from catalog.models import Product
from delivery.models import Code, CodeStatus, Delivery
from delivery.services.deliveries import code_revoke_by_operator, delivery_revoke_by_operator
from delivery.tests.factories import codes_product
from orders.models import PaymentMethod
from orders.services import order_purchase, order_refund
from orders.tests.helpers import funded_buyer
from reconciliation.tests.helpers import failing, reconcile_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool():
    """A CODES product of 6 codes: one order of 2 completed, one of 1 fully refunded."""
    product = codes_product(codes=6, price="5.00")
    completed = order_purchase(buyer=funded_buyer(), product_id=product.id, quantity=2, method=PaymentMethod.WALLET)
    refunded = order_purchase(buyer=funded_buyer(), product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    order_refund(order_id=refunded.id, actor=product.merchant)
    return {"product": product, "completed": completed, "refunded": refunded}


def test_sales_refunds_and_operator_revocations_reconcile_clean(pool, admin_user):
    code = Code.objects.filter(delivery__order_id=pool["completed"].id).first()
    code_revoke_by_operator(code_id=code.id, actor=admin_user, reason="Leaked on a forum")
    other = order_purchase(buyer=funded_buyer(), product_id=pool["product"].id, quantity=1, method="WALLET")
    delivery_revoke_by_operator(order_id=other.id, actor=admin_user, reason="Chargeback fraud")

    code, document = reconcile_json()

    assert (code, failing(document)) == (0, {})
    pool["product"].refresh_from_db()
    # 6 codes: 3 sold (one revoked by an operator, one with its delivery), 1 burnt by the refund, 2 left.
    assert (pool["product"].available_units, pool["product"].units_supplied) == (2, 5)


def test_stock_that_is_not_the_available_codes(pool):
    # Supplied and available both up by one: the unit stock check cannot see it, the pool check does.
    Product.objects.filter(id=pool["product"].id).update(
        available_units=F("available_units") + 1, units_supplied=F("units_supplied") + 1
    )

    _, document = reconcile_json()

    assert failing(document) == {"code_stock": [str(pool["product"].id)]}


def test_a_completed_order_whose_code_is_not_delivered(pool):
    code = Code.objects.filter(delivery__order_id=pool["completed"].id).first()
    Code.objects.filter(id=code.id).update(status=CodeStatus.RESERVED)

    _, document = reconcile_json()

    assert failing(document) == {"order_deliveries": [str(pool["completed"].id)]}


def test_a_refunded_order_whose_code_is_still_delivered(pool):
    Code.objects.filter(delivery__order_id=pool["refunded"].id).update(status=CodeStatus.DELIVERED)

    _, document = reconcile_json()

    assert failing(document) == {"order_deliveries": [str(pool["refunded"].id)]}


def test_a_revoked_code_without_an_operators_record(pool):
    Code.objects.filter(delivery__order_id=pool["completed"].id).filter(
        id=Code.objects.filter(delivery__order_id=pool["completed"].id).values("id")[:1]
    ).update(status=CodeStatus.REVOKED)

    _, document = reconcile_json()

    assert failing(document) == {"order_deliveries": [str(pool["completed"].id)]}


def test_an_order_without_a_delivery(shop):
    Delivery.objects.filter(order_id=shop["completed"].id).delete()

    _, document = reconcile_json()

    assert failing(document) == {"order_deliveries": [str(shop["completed"].id)]}


def test_a_code_held_by_an_order_of_another_product(pool):
    other = codes_product(codes=1, price="5.00")
    foreign = order_purchase(buyer=funded_buyer(), product_id=other.id, quantity=1, method=PaymentMethod.WALLET)
    code = Code.objects.get(delivery__order_id=foreign.id)
    Code.objects.filter(id=code.id).update(delivery=Delivery.objects.get(order_id=pool["completed"].id))

    _, document = reconcile_json()

    assert failing(document)["codes_sold_once"] == [str(code.id)]
    assert set(failing(document)["order_deliveries"]) == {str(pool["completed"].id), str(foreign.id)}
