"""Operators revoke a code or a whole delivery, with a reason on record; licenses end with them."""

import pytest

from delivery.crypto import code_decrypt
from delivery.exceptions import CodeNotFound, InvalidCodeState
from delivery.models import Code, CodeStatus, Delivery, DeliveryStatus, LicenseActivation, Revocation
from delivery.selectors import delivery_get_for_buyer
from delivery.services.deliveries import code_revoke_by_operator, delivery_revoke_by_operator
from delivery.services.licenses import license_activate, license_validate
from delivery.tests.factories import codes_product
from orders.models import OrderStatus, PaymentMethod
from orders.services import order_purchase
from orders.tests.helpers import funded_buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale():
    product = codes_product(codes=3)
    buyer = funded_buyer("100.00")
    order = order_purchase(buyer=buyer, product_id=product.id, quantity=2, method=PaymentMethod.WALLET)
    return order, buyer


def test_revoking_one_code_ends_its_licenses_and_hides_it_from_the_buyer(sale, admin_user):
    order, buyer = sale
    leaked, kept = Code.objects.filter(delivery__order_id=order.id).order_by("created_at", "id")
    license_activate(key=code_decrypt(leaked.ciphertext), instance_name="Pirate box")

    revocation = code_revoke_by_operator(code_id=leaked.id, actor=admin_user, reason="Posted on a forum")

    assert (revocation.code_id, revocation.actor_id) == (leaked.id, admin_user.id)
    assert revocation.reason == "Posted on a forum"
    leaked.refresh_from_db()
    assert leaked.status == CodeStatus.REVOKED
    assert not LicenseActivation.objects.filter(deactivated_at__isnull=True).exists()
    assert license_validate(key=code_decrypt(leaked.ciphertext)).status == "REVOKED"
    assert [code.id for code in delivery_get_for_buyer(order_id=order.id, buyer=buyer).codes] == [kept.id]
    assert order.status == OrderStatus.COMPLETED


def test_revoking_a_delivery_revokes_all_its_codes(sale, admin_user):
    order, buyer = sale

    delivery_revoke_by_operator(order_id=order.id, actor=admin_user, reason="Chargeback")

    assert Delivery.objects.get(order_id=order.id).status == DeliveryStatus.REVOKED
    assert set(Code.objects.filter(delivery__order_id=order.id).values_list("status", flat=True)) == {
        CodeStatus.REVOKED
    }
    assert delivery_get_for_buyer(order_id=order.id, buyer=buyer).codes == []
    assert Revocation.objects.get().delivery.order_id == order.id


def test_only_delivered_codes_and_deliveries_are_revoked(sale, admin_user):
    order, _ = sale
    available = Code.objects.get(status=CodeStatus.AVAILABLE)
    delivery_revoke_by_operator(order_id=order.id, actor=admin_user, reason="Chargeback")

    with pytest.raises(InvalidCodeState):
        code_revoke_by_operator(code_id=available.id, actor=admin_user, reason="No")
    with pytest.raises(InvalidCodeState):
        delivery_revoke_by_operator(order_id=order.id, actor=admin_user, reason="Twice")
    with pytest.raises(CodeNotFound):
        code_revoke_by_operator(code_id="00000000-0000-4000-8000-000000000000", actor=admin_user, reason="No")
    assert Revocation.objects.count() == 1
