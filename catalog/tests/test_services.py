import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.exceptions import NotMerchant, NotProductOwner, OutOfStock, ProductNotFound, ProductUnavailable
from catalog.models import Product
from catalog.services import (
    product_create,
    product_delete,
    product_release_units,
    product_restore,
    product_take_units,
    product_update,
)
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _create(merchant, **overrides) -> Product:
    fields = {"name": "E-book", "description": "A book.", "price": Decimal("12.50"), "available_units": 7}
    fields.update(overrides)
    return product_create(merchant=merchant, **fields)


# --- create -------------------------------------------------------------------


def test_create_puts_product_on_sale_with_units_supplied(merchant):
    product = _create(merchant)

    product.refresh_from_db()
    assert product.merchant == merchant
    assert product.price == Decimal("12.50")
    assert product.available_units == 7
    assert product.units_supplied == 7
    assert product.is_active is True
    assert product.deleted_at is None


def test_create_by_a_user_is_denied(user):
    with pytest.raises(NotMerchant) as excinfo:
        _create(user)

    assert excinfo.value.status_code == 403
    assert excinfo.value.code == "permission_denied"
    assert not Product.objects.exists()


def test_create_can_start_inactive(merchant):
    assert _create(merchant, is_active=False).is_active is False


# --- update -------------------------------------------------------------------


def test_update_changes_documented_fields(product):
    updated = product_update(
        product_id=product.id,
        merchant=product.merchant,
        name="New name",
        description="",
        price=Decimal("99.99"),
        is_active=False,
    )

    product.refresh_from_db()
    assert updated.name == product.name == "New name"
    assert product.description == ""
    assert product.price == Decimal("99.99")
    assert product.is_active is False


@pytest.mark.parametrize(("new_units", "expected_supplied"), [(15, 15), (4, 4), (0, 0)])
def test_update_of_available_units_moves_units_supplied_by_the_delta(product, new_units, expected_supplied):
    product_update(product_id=product.id, merchant=product.merchant, available_units=new_units)

    product.refresh_from_db()
    assert product.available_units == new_units
    assert product.units_supplied == expected_supplied


def test_update_after_units_were_taken_keeps_held_units(product):
    with transaction.atomic():
        product_take_units(product_id=product.id, quantity=3)  # 7 left, 3 held

    product_update(product_id=product.id, merchant=product.merchant, available_units=20)

    product.refresh_from_db()
    assert product.available_units == 20
    assert product.units_supplied - product.available_units == 3


def test_update_by_another_merchant_is_denied(product):
    with pytest.raises(NotProductOwner) as excinfo:
        product_update(product_id=product.id, merchant=MerchantFactory(), name="Hijacked")

    assert excinfo.value.status_code == 403
    product.refresh_from_db()
    assert product.name != "Hijacked"


def test_update_of_a_deleted_product_is_not_found(product):
    product_delete(product_id=product.id, merchant=product.merchant)

    with pytest.raises(ProductNotFound):
        product_update(product_id=product.id, merchant=product.merchant, name="Back")


def test_update_of_a_missing_product_is_not_found(merchant):
    with pytest.raises(ProductNotFound):
        product_update(product_id=uuid.uuid4(), merchant=merchant, name="x")


def test_update_refuses_undocumented_fields(product):
    with pytest.raises(TypeError):
        product_update(product_id=product.id, merchant=product.merchant, merchant_id=uuid.uuid4())


# --- delete and restore -------------------------------------------------------


def test_delete_is_soft(product):
    product_delete(product_id=product.id, merchant=product.merchant)

    product.refresh_from_db()
    assert product.deleted_at is not None


def test_delete_by_another_merchant_is_denied(product):
    with pytest.raises(NotProductOwner):
        product_delete(product_id=product.id, merchant=MerchantFactory())

    product.refresh_from_db()
    assert product.deleted_at is None


def test_delete_twice_is_not_found(product):
    product_delete(product_id=product.id, merchant=product.merchant)

    with pytest.raises(ProductNotFound):
        product_delete(product_id=product.id, merchant=product.merchant)


def test_restore_undoes_a_soft_delete(product):
    product_delete(product_id=product.id, merchant=product.merchant)

    restored = product_restore(product_id=product.id)

    assert restored.deleted_at is None
    product.refresh_from_db()
    assert product.deleted_at is None


# --- taking units -------------------------------------------------------------


def test_take_units_decrements_stock_and_returns_the_locked_product(product):
    with transaction.atomic():
        taken = product_take_units(product_id=product.id, quantity=3)

    assert taken.id == product.id
    assert taken.available_units == 7
    assert taken.price == Decimal("10.00")
    assert taken.name == product.name
    assert taken.merchant_id == product.merchant_id
    product.refresh_from_db()
    assert product.available_units == 7
    assert product.units_supplied == 10


def test_take_units_can_empty_the_stock(product):
    with transaction.atomic():
        assert product_take_units(product_id=product.id, quantity=10).available_units == 0


def test_take_more_units_than_available_is_out_of_stock(product):
    with pytest.raises(OutOfStock) as excinfo, transaction.atomic():
        product_take_units(product_id=product.id, quantity=11)

    assert excinfo.value.status_code == 409
    assert excinfo.value.code == "out_of_stock"
    assert "10" in excinfo.value.detail and "11" in excinfo.value.detail
    product.refresh_from_db()
    assert product.available_units == 10


def test_take_units_of_an_inactive_product_is_unavailable(merchant):
    product = ProductFactory(merchant=merchant, is_active=False)

    with pytest.raises(ProductUnavailable) as excinfo, transaction.atomic():
        product_take_units(product_id=product.id, quantity=1)

    assert excinfo.value.code == "product_unavailable"
    assert excinfo.value.status_code == 409


def test_take_units_of_a_deleted_product_is_not_found(merchant):
    product = ProductFactory(merchant=merchant, deleted_at=timezone.now())

    with pytest.raises(ProductNotFound), transaction.atomic():
        product_take_units(product_id=product.id, quantity=1)


def test_take_units_of_a_missing_product_is_not_found(db):
    with pytest.raises(ProductNotFound), transaction.atomic():
        product_take_units(product_id=uuid.uuid4(), quantity=1)


@pytest.mark.parametrize("quantity", [0, -1])
def test_take_units_needs_a_positive_quantity(product, quantity):
    with pytest.raises(ValueError), transaction.atomic():
        product_take_units(product_id=product.id, quantity=quantity)


@pytest.mark.django_db(transaction=True)
def test_take_units_refuses_to_run_outside_a_transaction():
    product = ProductFactory()

    with pytest.raises(RuntimeError):
        product_take_units(product_id=product.id, quantity=1)

    product.refresh_from_db()
    assert product.available_units == 10


# --- releasing units ----------------------------------------------------------


def test_release_units_returns_stock(product):
    with transaction.atomic():
        product_take_units(product_id=product.id, quantity=4)

    product_release_units(product_id=product.id, quantity=4)

    product.refresh_from_db()
    assert product.available_units == 10
    assert product.units_supplied == 10


@pytest.mark.parametrize("state", [{"is_active": False}, {"deleted_at": timezone.now()}])
def test_release_units_works_on_inactive_and_deleted_products(merchant, state):
    product = ProductFactory(merchant=merchant, available_units=5, units_supplied=8, **state)

    product_release_units(product_id=product.id, quantity=3)

    product.refresh_from_db()
    assert product.available_units == 8


def test_release_units_of_a_missing_product_is_not_found(db):
    with pytest.raises(ProductNotFound):
        product_release_units(product_id=uuid.uuid4(), quantity=1)


# --- database constraints -----------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"price": Decimal("0.00")},
        {"price": Decimal("-1.00")},
        {"name": ""},
        {"description": "x" * 5001},
        {"available_units": 5, "units_supplied": 4},
    ],
    ids=["price-zero", "price-negative", "name-empty", "description-too-long", "supplied-below-available"],
)
def test_database_rejects_invalid_products(merchant, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(merchant=merchant, **fields)


def test_a_new_product_supplies_its_starting_units(merchant):
    product = product_create(merchant=merchant, name="Direct", price=Decimal("1.00"), available_units=4)

    assert Product.objects.get(id=product.id).units_supplied == 4


def test_a_user_cannot_be_created_as_owner_through_the_service_even_with_stock(db):
    with pytest.raises(NotMerchant):
        product_create(merchant=UserFactory(), name="x", price=Decimal("1.00"), available_units=1)
