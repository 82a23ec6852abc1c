"""/admin/: entitlements, codes (by hint), files and the revocations journal; revoking with a reason."""

import pytest

from accounts.tests.factories import MerchantFactory, UserFactory
from backoffice.sites import operator_site
from backoffice.tests.factories import sale
from catalog.models import DeliveryKind
from catalog.tests.factories import ProductFactory
from delivery.models import Code, CodeStatus, Delivery, DeliveryStatus, ProductFile, Revocation
from delivery.services.codes import codes_add

pytestmark = pytest.mark.django_db

DELIVERIES = "/admin/delivery/delivery/"
CODES = "/admin/delivery/code/"


@pytest.fixture
def codes_order():
    merchant = MerchantFactory()
    product = ProductFactory(merchant=merchant, delivery_kind=DeliveryKind.CODES, available_units=0)
    codes_add(product_id=product.id, merchant=merchant, codes=["LEAKED-KEY-0001", "OTHER-KEY-0002", "SPARE-KEY-0003"])
    return sale(product, quantity=2)


def revoke(client, url: str, action: str, rows, **form):
    data = {"action": action, "_selected_action": [str(row.pk) for row in rows], **form}
    return client.post(url, data, follow=True)


def test_an_operator_revokes_an_entitlement_with_a_reason(operator_client, staff, codes_order):
    delivery = Delivery.objects.get(order_id=codes_order.id)

    asked = revoke(operator_client, DELIVERIES, "revoke_entitlements", [delivery])
    done = revoke(operator_client, DELIVERIES, "revoke_entitlements", [delivery], apply="Revoke", reason="Chargeback")

    assert asked.status_code == 200 and "reason" in asked.context["form"].fields
    assert "Revoked 1 entitlement(s)." in done.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.REVOKED
    assert set(delivery.codes.values_list("status", flat=True)) == {CodeStatus.REVOKED}
    revocation = Revocation.objects.get()
    assert (revocation.actor, revocation.delivery, revocation.reason) == (staff, delivery, "Chargeback")
    codes_order.refresh_from_db()
    assert codes_order.status == "COMPLETED"


def test_a_reason_is_required_and_nothing_changes_without_one(operator_client, codes_order):
    delivery = Delivery.objects.get(order_id=codes_order.id)

    response = revoke(operator_client, DELIVERIES, "revoke_entitlements", [delivery], apply="Revoke", reason="")

    assert response.context["form"].errors["reason"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert not Revocation.objects.exists()


def test_an_operator_revokes_one_delivered_code_and_not_an_available_one(operator_client, staff, codes_order):
    delivered = Code.objects.filter(status=CodeStatus.DELIVERED).first()
    available = Code.objects.get(status=CodeStatus.AVAILABLE)

    response = revoke(
        operator_client, CODES, "revoke_codes", [delivered, available], apply="Revoke", reason="Posted online"
    )

    page = response.content.decode()
    assert "Revoked 1 code(s)." in page
    assert "Only a DELIVERED code can be revoked" in page
    delivered.refresh_from_db()
    available.refresh_from_db()
    assert (delivered.status, available.status) == (CodeStatus.REVOKED, CodeStatus.AVAILABLE)
    assert Revocation.objects.get().code == delivered


def test_operators_see_hints_never_codes(operator_client, codes_order):
    for url in (CODES, f"{CODES}{Code.objects.first().id}/change/", DELIVERIES, "/admin/delivery/revocation/"):
        response = operator_client.get(url)
        assert response.status_code == 200
        assert b"KEY-000" not in response.content


def test_delivery_pages_are_read_only_even_for_a_superuser(rf, staff):
    request = rf.get("/admin/")
    request.user = staff
    for model in (Delivery, Code, ProductFile, Revocation):
        model_admin = operator_site.get_model_admin(model)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_a_staff_user_without_the_permission_gets_no_revoke_action(codes_order):
    from django.contrib.auth.models import Permission
    from django.test import Client

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client = Client()
    client.force_login(viewer)

    response = client.get(DELIVERIES)

    assert response.status_code == 200
    assert b"revoke_entitlements" not in response.content
