"""Buying a product: from the wallet in one transaction, or by card (reservation + PaymentIntent)."""

from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import transaction

from catalog.exceptions import ProductNotFound
from catalog.models import Product
from catalog.services import product_take_units
from orders.exceptions import CannotBuyOwnProduct
from orders.models import Order, OrderStatus, PaymentMethod, StatusChangeSource
from orders.services.history import order_record_created
from paymentflow.money import percent_of, quantize
from wallets.models import EntryType, JournalKind, WalletKind
from wallets.services import Leg, ledger_post, system_wallet, wallet_lock


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


def sale_legs(*, buyer_wallet, merchant_wallet, total: Decimal, fee: Decimal, sign: int = 1) -> list[Leg]:
    """Return the legs of a sale (sign=1) or of its reversal (sign=-1): buyer, merchant, platform fee."""
    buyer_type, merchant_type = (
        (EntryType.PURCHASE, EntryType.SALE) if sign > 0 else (EntryType.REFUND, EntryType.SALE_REVERSAL)
    )
    legs = [
        Leg(wallet=buyer_wallet, amount=-sign * total, entry_type=buyer_type),
        Leg(wallet=merchant_wallet, amount=sign * (total - fee), entry_type=merchant_type),
    ]
    if fee:
        fee_type = EntryType.FEE if sign > 0 else EntryType.FEE_REVERSAL
        legs.append(Leg(wallet=system_wallet(kind=WalletKind.PLATFORM_REVENUE), amount=sign * fee, entry_type=fee_type))
    return legs


def order_purchase(*, buyer, product_id: UUID, quantity: int, method: str) -> Order:
    """Buy `quantity` units of a product; WALLET orders complete (or fail) atomically."""
    merchant_id = _merchant_of(product_id=product_id)
    if merchant_id == buyer.id:
        raise CannotBuyOwnProduct()
    if method != PaymentMethod.WALLET:
        raise ValueError(f"Unsupported payment method {method!r}")
    return _purchase_with_wallet(buyer=buyer, merchant_id=merchant_id, product_id=product_id, quantity=quantity)


@transaction.atomic
def _purchase_with_wallet(*, buyer, merchant_id: UUID, product_id: UUID, quantity: int) -> Order:
    # Lock order: wallets (sorted by id), then the product row. The product lock is
    # the hot one when many buyers want one item, so it is taken as late as
    # possible and held only for the inserts below until COMMIT.
    wallets = wallet_lock(user_ids=[buyer.id, merchant_id])
    product = product_take_units(product_id=product_id, quantity=quantity)
    total = quantize(product.price * quantity)
    fee = percent_of(total, settings.PLATFORM_FEE_PERCENT)
    order = Order.objects.create(
        buyer=buyer,
        merchant_id=merchant_id,
        product=product,
        product_name=product.name,
        unit_price=product.price,
        quantity=quantity,
        total_amount=total,
        fee_amount=fee,
        currency=settings.CURRENCY,
        status=OrderStatus.COMPLETED,
        payment_method=PaymentMethod.WALLET,
    )
    # Raises InsufficientFunds / WalletFrozen, which rolls back the units taken above.
    ledger_post(
        kind=JournalKind.PURCHASE,
        legs=sale_legs(buyer_wallet=wallets[buyer.id], merchant_wallet=wallets[merchant_id], total=total, fee=fee),
        description=f"{quantity} x {product.name}",
        order_id=order.id,
    )
    order_record_created(order=order, source=StatusChangeSource.API, actor=buyer, reason="Paid from wallet")
    return order
