"""/merchant/ products: only the merchant's own, written through the catalog services."""

from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.tests.factories import sale
from backoffice.tests.merchants.helpers import PRODUCTS, results
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_a_merchant_lists_only_its_own_live_products(merchant, merchant_client, rival):
    mine = ProductFactory(merchant=merchant, name="Mine")
    ProductFactory(merchant=merchant, name="Deleted", deleted_at=timezone.now())

    response = merchant_client.get(PRODUCTS)

    assert results(response) == [mine]
    assert b"Rival" not in response.content
    assert results(merchant_client.get(PRODUCTS, {"q": "Rival"})) == []


@pytest.mark.parametrize("suffix", ["change/", "delete/", "history/"])
def test_another_merchants_product_is_a_404_by_url(merchant_client, rival, suffix):
    theirs = Product.objects.get(merchant=rival)

    assert merchant_client.get(f"{PRODUCTS}{theirs.id}/{suffix}").status_code == 404
    assert (
        merchant_client.post(f"{PRODUCTS}{theirs.id}/{suffix}", {"post": "yes", "name": "Mine now"}).status_code == 404
    )
    theirs.refresh_from_db()
    assert (theirs.name, theirs.deleted_at) == ("Rival's product", None)


def test_a_deleted_product_is_a_404_for_its_merchant_too(merchant, merchant_client):
    deleted = ProductFactory(merchant=merchant, deleted_at=timezone.now())

    assert merchant_client.get(f"{PRODUCTS}{deleted.id}/change/").status_code == 404


def test_a_merchant_creates_a_product_through_the_service(merchant, merchant_client, rival):
    response = merchant_client.post(
        f"{PRODUCTS}add/",
        {
            "name": "Field guide",
            "description": "Birds of the valley",
            "price": "12.50",
            "available_units": "40",
            "is_active": "on",
            "merchant": str(rival.id),
            "units_supplied": "999",
        },
    )

    assert response.status_code == 302
    product = Product.objects.get(name="Field guide")
    assert product.merchant == merchant
    assert (product.price, product.available_units, product.units_supplied) == (Decimal("12.50"), 40, 40)
    assert response["Location"] == PRODUCTS


@pytest.mark.parametrize("price", ["0", "-1.00", "1.005", "abc"])
def test_an_invalid_price_is_a_form_error_and_creates_nothing(merchant_client, price):
    response = merchant_client.post(f"{PRODUCTS}add/", {"name": "Bad", "price": price, "available_units": "1"})

    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors
    assert not Product.objects.exists()


def test_a_merchant_edits_its_product_and_a_restock_moves_units_supplied(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, name="Old name", available_units=10)
    sale(product, quantity=3)

    response = merchant_client.post(
        f"{PRODUCTS}{product.id}/change/",
        {"name": "New name", "description": "", "price": "10.00", "available_units": "17", "is_active": "on"},
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "New name"
    # 7 units were on sale, 3 held by the sale; the merchant added 10.
    assert (product.available_units, product.units_supplied) == (17, 20)


def product_form(**overrides) -> dict:
    form = {"name": "Guide", "description": "", "price": "10.00", "available_units": "10", "is_active": "on"}
    return {**form, **overrides}


def test_the_form_carries_the_stock_it_showed(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, available_units=10)
    page = merchant_client.get(f"{PRODUCTS}{product.id}/change/")
    assert page.context["adminform"].form["stock_shown"].value() == 10


def test_a_price_edit_posted_after_sales_does_not_put_sold_units_back(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, available_units=10)
    # The merchant opened the form at 10 units; 3 sell before it is posted back unchanged.
    sale(product, quantity=3)

    response = merchant_client.post(
        f"{PRODUCTS}{product.id}/change/", product_form(price="12.00", available_units="10", stock_shown="10")
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.available_units, product.units_supplied) == (Decimal("12.00"), 7, 10)


def test_a_stock_edit_over_stock_that_moved_is_refused_for_review(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, available_units=10)
    sale(product, quantity=3)

    response = merchant_client.post(
        f"{PRODUCTS}{product.id}/change/", product_form(available_units="15", stock_shown="10")
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "available_units" in form.errors
    assert form["stock_shown"].value() == 7
    product.refresh_from_db()
    assert (product.available_units, product.units_supplied) == (7, 10)


def test_delete_is_a_soft_delete_through_the_service(merchant, merchant_client):
    product = ProductFactory(merchant=merchant)
    order = sale(product)

    confirmation = merchant_client.get(f"{PRODUCTS}{product.id}/delete/")
    response = merchant_client.post(f"{PRODUCTS}{product.id}/delete/", {"post": "yes"})

    assert confirmation.status_code == 200
    assert b"protected" not in confirmation.content
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.deleted_at is not None
    assert Order.objects.get(id=order.id).product_id == product.id
    assert merchant_client.get(f"{PRODUCTS}{product.id}/change/").status_code == 404


def test_the_delete_action_soft_deletes_only_the_merchants_own_products(merchant, merchant_client, rival):
    mine = ProductFactory(merchant=merchant)
    theirs = Product.objects.get(merchant=rival)

    response = merchant_client.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [str(mine.id), str(theirs.id)], "post": "yes"}
    )

    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.deleted_at is not None
    assert theirs.deleted_at is None
    assert Product.objects.count() == 2
