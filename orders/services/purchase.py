"""Buying a product: from the wallet in one transaction, or by card (reservation + PaymentIntent)."""

from datetime import timedelta
from uuid import UUID, uuid4

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.cache import product_cache_invalidate_on_commit
from catalog.exceptions import OutOfStock, ProductNotFound, ProductUnavailable
from catalog.models import Product
from catalog.services import product_sold_out_emit
from core import gateway
from core.metrics import ledger_journal_record, order_status_record
from core.money import percent_of, quantize
from core.outbox import EventType, outbox_emit_in_sql
from orders.events import order_event_emit
from orders.exceptions import CannotBuyOwnProduct
from orders.locks import LockSequence
from orders.models import Order, OrderStatus, PaymentMethod, StatusChangeSource
from orders.serializers import API_DATETIME, new_order_without_refunds
from orders.services.card import order_fail
from orders.services.history import order_record_created
from orders.services.legs import sale_legs
from wallets.exceptions import InsufficientFunds, WalletFrozen
from wallets.models import SYSTEM_WALLET_IDS, JournalKind, Wallet, WalletKind
from wallets.services import ledger_post

# A wallet purchase whose product changed merchant between its two locks starts
# over (see _purchase_with_wallet); a product that keeps changing is refused.
WALLET_PURCHASE_ATTEMPTS = 3

WALLET_PURCHASE_REASON = "Paid from wallet"


def _merchant_of(*, product_id: UUID) -> UUID:
    """Return the merchant of a non-deleted product, or raise `ProductNotFound`."""
    merchant_id = (
        Product.objects.filter(id=product_id, deleted_at__isnull=True).values_list("merchant_id", flat=True).first()
    )
    if merchant_id is None:
        raise ProductNotFound()
    return merchant_id


def _refuse_own_product(*, buyer, merchant_id: UUID) -> None:
    if merchant_id == buyer.id:
        raise CannotBuyOwnProduct()


def _new_order(*, locks: LockSequence, buyer, product: Product, quantity: int, paid: bool, **fields) -> Order:
    """Write an order priced from `product` as read under its row lock, after its delivery.

    The delivery takes a CODES product's codes under the product lock `locks`
    holds (delivery.locks.codes_take): DELIVERED when `paid`, else RESERVED
    until the payment succeeds (delivered) or fails or expires (released).
    """
    order_id = uuid4()
    locks.open_delivery(order_id=order_id, buyer=buyer, product=product, quantity=quantity, paid=paid)
    total = quantize(product.price * quantity)
    return Order.objects.create(
        id=order_id,
        buyer=buyer,
        merchant_id=product.merchant_id,
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
    webhook later completes or fails. Errors, in this order: missing or deleted
    product (404), the buyer's own product (400), inactive (409), stock (409),
    a FILE product without its file (409), then funds or a frozen wallet (409).
    The order's delivery is written in the same transaction: a CODES product's
    codes are DELIVERED with a wallet payment, RESERVED for a card payment.
    """
    if method == PaymentMethod.WALLET:
        return _purchase_with_wallet(buyer=buyer, product_id=product_id, quantity=quantity)
    if method == PaymentMethod.GATEWAY:
        return _purchase_with_card(buyer=buyer, product_id=product_id, quantity=quantity)
    raise ValueError(f"Unsupported payment method {method!r}")


class _MerchantChanged(Exception):
    """The product's merchant is not the one whose wallet was locked: this attempt must not write."""


def _purchase_with_wallet(*, buyer, product_id: UUID, quantity: int) -> Order:
    for _attempt in range(WALLET_PURCHASE_ATTEMPTS):
        try:
            with transaction.atomic():
                if _in_one_statement():
                    return _wallet_purchase_statement(buyer=buyer, product_id=product_id, quantity=quantity)
                return _wallet_purchase_attempt(buyer=buyer, product_id=product_id, quantity=quantity)
        except _MerchantChanged:
            # Only a manual data fix moves a product to another merchant. The attempt
            # rolled back; the next one locks the wallet of the merchant it has now.
            continue
    raise ProductUnavailable("The product changed while it was being bought; try again.")


def _in_one_statement() -> bool:
    """Return whether the purchase runs as the PostgreSQL function (SQLite, and a test asking for it, use the ORM)."""
    return transaction.get_connection().vendor == "postgresql"


def _wallet_purchase_attempt(*, buyer, product_id: UUID, quantity: int) -> Order:
    locks = LockSequence()
    wallets = locks.lock_buyer_and_merchant_wallets(buyer_id=buyer.id, product_id=product_id)
    if len(wallets) < 2:
        # No merchant wallet came back: the product is missing or deleted (404), or the buyer's own (400).
        _refuse_own_product(buyer=buyer, merchant_id=_merchant_of(product_id=product_id))
    product = locks.take_units(product_id=product_id, quantity=quantity)
    if product.merchant_id not in wallets:
        raise _MerchantChanged()
    order = _new_order(
        locks=locks,
        buyer=buyer,
        product=product,
        quantity=quantity,
        paid=True,
        status=OrderStatus.COMPLETED,
        payment_method=PaymentMethod.WALLET,
    )
    # Raises InsufficientFunds / WalletFrozen, which rolls back the units taken above.
    ledger_post(
        wallets=wallets,
        kind=JournalKind.PURCHASE,
        legs=sale_legs(
            payer_wallet=wallets[buyer.id],
            merchant_wallet=wallets[product.merchant_id],
            total=order.total_amount,
            fee=order.fee_amount,
        ),
        description=f"{quantity} x {product.name}",
        order_id=order.id,
    )
    order_record_created(order=order, source=StatusChangeSource.API, actor=buyer, reason=WALLET_PURCHASE_REASON)
    order_event_emit(event_type=EventType.ORDER_COMPLETED, order=new_order_without_refunds(order))
    return order


# The refusals of orders_wallet_purchase (orders/migrations/0008), raised as the ORM path raises them.
_REFUSALS = {
    "product_not_found": lambda row: ProductNotFound(),
    "cannot_buy_own_product": lambda row: CannotBuyOwnProduct(),
    "product_unavailable": lambda row: ProductUnavailable(),
    "out_of_stock": lambda row: OutOfStock.of_units(available=row["available"], requested=row["quantity"]),
    "wallet_frozen": lambda row: WalletFrozen(),
    "insufficient_funds": lambda row: InsufficientFunds.for_balance(balance=row["balance"], amount=row["total_amount"]),
    "product_file_missing": lambda row: ProductUnavailable.file_missing(),
    "codes_short": lambda row: OutOfStock.of_codes(available=row["available"], requested=row["quantity"]),
    "merchant_changed": lambda row: _MerchantChanged(),
    "buyer_has_no_wallet": lambda row: Wallet.DoesNotExist("The buyer has no wallet."),
}


def _wallet_purchase_statement(*, buyer, product_id: UUID, quantity: int) -> Order:
    """Run `_wallet_purchase_attempt` as one PostgreSQL function call: the same locks, checks and rows.

    The function (orders/migrations/0007_wallet_purchase_function.py) takes the
    wallets and then the product in the global lock order, decides every refusal
    before it writes, then writes the stock, the order, the delivery (and a CODES
    product's codes), the journal, the balances, the entries, the first status
    change and the order.completed outbox row: one round trip instead of nine.
    """
    now = timezone.now()
    event = outbox_emit_in_sql(event_type=EventType.ORDER_COMPLETED)
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(
            "SELECT * FROM orders_wallet_purchase(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                buyer.id,
                product_id,
                quantity,
                settings.PLATFORM_FEE_PERCENT,
                settings.CURRENCY,
                SYSTEM_WALLET_IDS[WalletKind.PLATFORM_REVENUE],
                now,
                StatusChangeSource.API,
                WALLET_PURCHASE_REASON,
                # The order.completed row the function writes: its timestamps as the API renders them.
                API_DATETIME.to_representation(now),
                event.request_id,
                event.next_attempt_at,
            ],
        )
        row = dict(zip((column.name for column in cursor.description), cursor.fetchone(), strict=True))
    if row["outcome"] != "ok":
        raise _REFUSALS[row["outcome"]]({**row, "quantity": quantity})
    # What ledger_post, order_record_created and product_take_units do besides their rows, after commit.
    ledger_journal_record(kind=JournalKind.PURCHASE)
    order_status_record(status=OrderStatus.COMPLETED, payment_method=PaymentMethod.WALLET)
    product_cache_invalidate_on_commit(product_id=product_id)
    order = Order(
        id=row["order_id"],
        buyer=buyer,
        merchant_id=row["merchant_id"],
        product_id=product_id,
        product_name=row["product_name"],
        unit_price=row["unit_price"],
        quantity=quantity,
        total_amount=row["total_amount"],
        fee_amount=row["fee_amount"],
        currency=settings.CURRENCY,
        status=OrderStatus.COMPLETED,
        payment_method=PaymentMethod.WALLET,
        created_at=now,
        updated_at=now,
    )
    # The row exists: saving this object again would be an UPDATE, as for one read from the database.
    order._state.adding = False
    order._state.db = transaction.get_connection().alias
    # The API object the function rendered for the event: the answer too (orders.serializers.new_order_data).
    order.rendered_by_sql = row["api_order"]
    # The event of product_take_units, in this transaction, after the function's order.completed (events of
    # one transaction have no order among them): two statements more when the sale took the last unit.
    if row["available"] == 0:
        product_sold_out_emit(product=Product.objects.get(id=product_id))
    return order


def _purchase_with_card(*, buyer, product_id: UUID, quantity: int) -> Order:
    # Checked before anything is reserved: without a gateway there is nothing to wait for.
    if not gateway.gateway_is_configured():
        raise gateway.GatewayUnavailable()
    try:
        with transaction.atomic():
            order = _card_reservation(buyer=buyer, product_id=product_id, quantity=quantity)
    except (ProductUnavailable, OutOfStock):
        # The refusals' order puts the buyer's own product (400) before the product's state (409);
        # read only when the reservation failed, so a card order's happy path sends no query for it.
        _refuse_own_product(buyer=buyer, merchant_id=_merchant_of(product_id=product_id))
        raise

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
        # Compensate: no units stay reserved for a payment that cannot happen. The
        # intent's key is the order's id, so an intent Stripe made anyway (a timeout)
        # can never be paid for another order; one paid later is refunded as late.
        order_fail(order_id=order.id, reason=f"Payment gateway error: {exc.detail}", source=StatusChangeSource.API)
        raise

    now = timezone.now()
    Order.objects.filter(id=order.id).update(
        payment_intent_id=intent.id, payment_client_secret=intent.client_secret, updated_at=now
    )
    # What the UPDATE wrote, on the object (nothing else of the order can have changed: no
    # payment can reach an intent its buyer has not been given yet), instead of reading it back.
    order.payment_intent_id, order.payment_client_secret, order.updated_at = intent.id, intent.client_secret, now
    return order


def _card_reservation(*, buyer, product_id: UUID, quantity: int) -> Order:
    """Reserve the units (and a CODES product's codes) for a PENDING card order; in the caller's transaction."""
    locks = LockSequence()
    product = locks.take_units(product_id=product_id, quantity=quantity)
    # The buyer's own product: refused, and the units just taken roll back with the transaction.
    _refuse_own_product(buyer=buyer, merchant_id=product.merchant_id)
    order = _new_order(
        locks=locks,
        buyer=buyer,
        product=product,
        quantity=quantity,
        paid=False,
        status=OrderStatus.PENDING,
        payment_method=PaymentMethod.GATEWAY,
        payment_provider="stripe",
        expires_at=timezone.now() + timedelta(minutes=settings.PAYMENT_RESERVATION_MINUTES),
    )
    order_record_created(order=order, source=StatusChangeSource.API, actor=buyer, reason="Awaiting card payment")
    return order
