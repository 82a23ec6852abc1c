"""Stock races against real PostgreSQL: threads released together by a barrier."""

import time

import pytest
from django.db import transaction

from catalog.exceptions import OutOfStock
from catalog.services import product_release_units, product_take_units, product_update
from catalog.tests.factories import ProductFactory
from core.tests.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_buyers_for_ten_units_exactly_ten_succeed(api_client):
    product = ProductFactory(available_units=10)
    api_client.get(f"/api/v1/products/{product.id}")  # warm the cache

    def take_one(_):
        with transaction.atomic():
            return product_take_units(product_id=product.id, quantity=1).available_units

    results = run_together(50, take_one)

    remaining = sorted(r for r in results if isinstance(r, int))
    out_of_stock = [r for r in results if isinstance(r, OutOfStock)]
    assert len(remaining) == 10
    assert len(out_of_stock) == 40
    # Each success saw a distinct stock level, none of them negative.
    assert remaining == list(range(10))
    product.refresh_from_db()
    assert product.available_units == 0
    assert product.units_supplied == 10
    # Each commit invalidated the cache: the next read shows the real stock.
    assert api_client.get(f"/api/v1/products/{product.id}").json()["availableUnits"] == 0


def test_multi_unit_takes_never_oversell():
    product = ProductFactory(available_units=10)

    def take_three(_):
        with transaction.atomic():
            return product_take_units(product_id=product.id, quantity=3).available_units

    results = run_together(10, take_three)

    assert len([r for r in results if isinstance(r, int)]) == 3
    assert all(isinstance(r, (int, OutOfStock)) for r in results)
    product.refresh_from_db()
    assert product.available_units == 1


def test_restocks_racing_purchases_keep_units_supplied_consistent():
    product = ProductFactory(available_units=100)
    takers, restockers = 30, 10

    def work(index: int):
        if index < takers:
            with transaction.atomic():
                product_take_units(product_id=product.id, quantity=1)
                # Hold the row lock a moment, as a purchase does while it writes the order.
                time.sleep(0.005)
            return "taken"
        product_update(product_id=product.id, merchant=product.merchant, available_units=40 + index)
        return "restocked"

    results = run_together(takers + restockers, work)

    assert all(r in ("taken", "restocked") for r in results), results
    taken = results.count("taken")
    product.refresh_from_db()
    # Units held by orders = units supplied by the merchant - units still available.
    assert product.units_supplied - product.available_units == taken


def test_releases_racing_purchases_keep_stock_exact():
    product = ProductFactory(available_units=20)
    with transaction.atomic():
        product_take_units(product_id=product.id, quantity=10)  # 10 units held by earlier orders

    def work(index: int):
        if index % 2:
            product_release_units(product_id=product.id, quantity=1)
            return "released"
        with transaction.atomic():
            product_take_units(product_id=product.id, quantity=1)
        return "taken"

    results = run_together(20, work)

    assert results.count("released") == 10
    assert results.count("taken") == 10
    product.refresh_from_db()
    assert product.available_units == 10
    assert product.units_supplied == 20
