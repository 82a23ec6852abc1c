"""Buying a product: from the wallet in one transaction, or by card (reservation + PaymentIntent)."""

import functools
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.exceptions import ProductNotFound
from catalog.models import Product
from catalog.services import product_take_units
from orders.exceptions import CannotBuyOwnProduct
from orders.models import Order, OrderStatus, PaymentMethod, StatusChangeSource
from orders.services.card import order_fail
from orders.services.history import order_record_created
from orders.services.legs import sale_legs
from core import gateway
from core.money import percent_of, quantize
from wallets.models import JournalKind
from wallets.services import ledger_post, wallet_lock


def _merchant_of(*, product_id: UUID) -> UUID:
    # Read before any lock: the wallets are locked first (global lock order), and
    # for that we need to know whose wallet the sale credits. A product's merchant
    # never changes, so this read cannot go stale.
    merchant_id = (
        Product.objects.filter(id=product_id, deleted_at__isnull=True).values_list("merchant_id", flat=True).first()
    )
    if merchant_id is None:
        raise ProductNotFound()
    return merchant_id


@functools.lru_cache(maxsize=10_000)
def _merchant_of_remembered(product_id: UUID) -> UUID:
    # A product's merchant never changes and products are never removed (soft
    # delete), so a process may keep the answer: one query less on every wallet
    # purchase but a product's first. A product deleted since is still refused,
    # under its lock, by product_take_units. Exceptions (missing) are not kept.
    return _merchant_of(product_id=product_id)


def _new_order(*, buyer, merchant_id: UUID, product: Product, quantity: int, **fields) -> Order:
    """Write an order priced from `product` as read under its row lock."""
    total = quantize(product.price * quantity)
    return Order.objects.create(
        buyer=buyer,
        merchant_id=merchant_id,
        product=product,
        product_name=product.name,
        unit_price=product.price,
        quantity=quantity,
        total_amount=total,
        fee_amount=percent_of(total, settings.PLATFORM_FEE_PERCENT),
        currency=settings.CURRENCY,
        **fields,
    )


def order_purchase(*, buyer, product_id: UUID, quantity: int, method: str) -> Order:
    """Buy `quantity` units of a product.

    WALLET: paid at once, the order is COMPLETED or nothing happens. GATEWAY: the
    units are reserved and the order is PENDING with a PaymentIntent that the
    webhook later completes or fails.
    """
    if method == PaymentMethod.WALLET:
        merchant_id = _merchant_of_remembered(UUID(str(product_id)))
    else:
        merchant_id = _merchant_of(product_id=product_id)
    if merchant_id == buyer.id:
        # Missing or deleted answers before "your own product", as it always has.
        _merchant_of(product_id=product_id)
        raise CannotBuyOwnProduct()
    if method == PaymentMethod.WALLET:
        return _purchase_with_wallet(buyer=buyer, merchant_id=merchant_id, product_id=product_id, quantity=quantity)
    if method == PaymentMethod.GATEWAY:
        return _purchase_with_card(buyer=buyer, merchant_id=merchant_id, product_id=product_id, quantity=quantity)
    raise ValueError(f"Unsupported payment method {method!r}")


@transaction.atomic
def _purchase_with_wallet(*, buyer, merchant_id: UUID, product_id: UUID, quantity: int) -> Order:
    # Lock order: wallets (sorted by id), then the product row. The product lock is
    # the hot one when many buyers want one item, so it is taken as late as
    # possible and held only for the inserts below until COMMIT.
    wallets = wallet_lock(user_ids=[buyer.id, merchant_id])
    product = product_take_units(product_id=product_id, quantity=quantity)
    if product.merchant_id != merchant_id:
        # Only a manual data fix can move a product to another merchant; forget what
        # this process remembered and fail this attempt (nothing is written) so a
        # retry locks the right wallet.
        _merchant_of_remembered.cache_clear()
        raise RuntimeError(f"Product {product_id} changed merchant; retry the purchase.")
    order = _new_order(
        buyer=buyer,
        merchant_id=merchant_id,
        product=product,
        quantity=quantity,
        status=OrderStatus.COMPLETED,
        payment_method=PaymentMethod.WALLET,
    )
    # Raises InsufficientFunds / WalletFrozen, which rolls back the units taken above.
    # Posted with the wallets locked above: no second lock, no savepoint.
    ledger_post(
        kind=JournalKind.PURCHASE,
        legs=sale_legs(
            payer_wallet=wallets[buyer.id],
            merchant_wallet=wallets[merchant_id],
            total=order.total_amount,
            fee=order.fee_amount,
        ),
        description=f"{quantity} x {product.name}",
        order_id=order.id,
        locked_wallets=wallets.values(),
    )
    order_record_created(order=order, source=StatusChangeSource.API, actor=buyer, reason="Paid from wallet")
    return order


def _purchase_with_card(*, buyer, merchant_id: UUID, product_id: UUID, quantity: int) -> Order:
    # Checked before anything is reserved: without a gateway there is nothing to wait for.
    if not gateway.gateway_is_configured():
        raise gateway.GatewayUnavailable()
    with transaction.atomic():
        product = product_take_units(product_id=product_id, quantity=quantity)
        order = _new_order(
            buyer=buyer,
            merchant_id=merchant_id,
            product=product,
            quantity=quantity,
            status=OrderStatus.PENDING,
            payment_method=PaymentMethod.GATEWAY,
            payment_provider="stripe",
            expires_at=timezone.now() + timedelta(minutes=settings.PAYMENT_RESERVATION_MINUTES),
        )
        order_record_created(order=order, source=StatusChangeSource.API, actor=buyer, reason="Awaiting card payment")

    # The PaymentIntent is created after the reservation committed, so the
    # product row is not locked during the call. Its idempotency key is derived
    # from the order id: a retried call cannot create a second intent.
    try:
        intent = gateway.payment_intent_create(
            order_id=order.id,
            amount=order.total_amount,
            currency=order.currency,
            description=f"{order.quantity} x {order.product_name}",
        )
    except (gateway.GatewayError, gateway.GatewayUnavailable) as exc:
        # Compensate: no units stay reserved for a payment that cannot happen.
        order_fail(order_id=order.id, reason=f"Payment gateway error: {exc.detail}", source=StatusChangeSource.API)
        raise gateway.GatewayError(exc.detail) from exc

    Order.objects.filter(id=order.id).update(
        payment_intent_id=intent.id, payment_client_secret=intent.client_secret, updated_at=timezone.now()
    )
    order.refresh_from_db()
    return order
