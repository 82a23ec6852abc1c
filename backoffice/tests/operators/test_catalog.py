import pytest
from django.utils import timezone

from catalog.models import Product
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/product/"


def test_operators_see_deleted_products_and_can_filter_them(operator_client):
    ProductFactory(name="Live product")
    ProductFactory(name="Gone product", deleted_at=timezone.now())

    everything = operator_client.get(CHANGELIST)
    deleted_only = operator_client.get(CHANGELIST, {"deleted": "yes"})

    assert everything.status_code == 200
    assert b"Live product" in everything.content and b"Gone product" in everything.content
    assert b"Gone product" in deleted_only.content and b"Live product" not in deleted_only.content


def test_operators_search_by_merchant_email(operator_client):
    product = ProductFactory(name="Findable")
    ProductFactory(name="Other")

    response = operator_client.get(CHANGELIST, {"q": product.merchant.email})

    assert b"Findable" in response.content and b"Other" not in response.content


def test_restore_action_brings_deleted_products_back(operator_client, django_capture_on_commit_callbacks):
    deleted = ProductFactory(deleted_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            CHANGELIST, {"action": "restore", "_selected_action": [str(deleted.id)]}, follow=True
        )

    assert response.status_code == 200
    deleted.refresh_from_db()
    assert deleted.deleted_at is None


def test_products_are_read_only_in_the_admin(operator_client, product):
    assert operator_client.get(f"{CHANGELIST}add/").status_code == 403
    operator_client.post(f"{CHANGELIST}{product.id}/change/", {"name": "Edited", "price": "1.00"})

    product.refresh_from_db()
    assert product.name != "Edited"
    assert Product.objects.count() == 1
