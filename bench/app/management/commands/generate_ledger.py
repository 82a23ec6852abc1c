"""Build a large, consistent ledger fast, for the reconciliation benchmark (PostgreSQL only, BENCH only).

Everything is set-based: a handful of INSERT … SELECT over generate_series, in
one transaction, so a million entries take seconds rather than the hours the
services would need. The result is what the services would have written:

- W accounts (1 in 100 a merchant with one product), each wallet funded by a
  DEPOSIT journal first;
- WALLET orders in blocks of ten, the first of each block refunded: a PURCHASE
  journal (buyer PURCHASE -total, merchant SALE +total-fee, platform FEE +fee,
  fee = 2.5 %) per order and a REFUND journal reversing it, with its refund row;
- per user wallet, entries numbered 1, 2, 3 … with an unbroken
  balance_before/balance_after chain (window functions), wallets holding their
  final balance and entry count, never below zero;
- product stock matching the completed orders.

Orders have no status history rows; accounts get unusable passwords and
`@generated.invalid` emails. `reconcile` on the result reports it clean: the
journal kinds and entry types are bound under the names its checks use
(LEDGER_PARAMS).
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from time import monotonic

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from core.progress import progress_bar
from orders.models import OrderStatus, PaymentMethod, RefundKind, RefundStatus, StatusChangeSource
from reconciliation.checks.base import LEDGER_PARAMS
from wallets.models import SYSTEM_WALLET_IDS, LedgerEntry, WalletKind

ORDERS_PER_BLOCK = 10
# Ten purchases and one refund, three legs each.
ENTRIES_PER_BLOCK = (ORDERS_PER_BLOCK + 1) * 3
WALLETS_PER_MERCHANT = 100
FEE_RATE = Decimal("0.025")
# Prices run 5.00 … 24.00 by merchant, quantities 1 … 3.
MAX_ORDER_TOTAL = Decimal("72.00")


@dataclass(frozen=True)
class Plan:
    """How many of each row a run writes, worked out from --entries and --wallets."""

    wallets: int
    merchants: int
    blocks: int
    extra_orders: int
    extra_deposit: bool
    deposit: Decimal

    @classmethod
    def for_size(cls, *, entries: int, wallets: int) -> "Plan":
        merchants = max(1, wallets // WALLETS_PER_MERCHANT)
        blocks, remainder = divmod(entries - 2 * wallets, ENTRIES_PER_BLOCK)
        extra_orders, leftover = divmod(remainder, 3)
        orders = blocks * ORDERS_PER_BLOCK + extra_orders
        buyers = wallets - merchants
        # Enough for a buyer's every purchase, so no balance ever goes below zero.
        deposit = (-(-orders // buyers)) * MAX_ORDER_TOTAL + 100
        return cls(wallets, merchants, blocks, extra_orders, leftover == 2, deposit)

    @property
    def orders(self) -> int:
        return self.blocks * ORDERS_PER_BLOCK + self.extra_orders

    @property
    def journals(self) -> int:
        return self.wallets + self.orders + self.blocks + int(self.extra_deposit)

    @property
    def entries(self) -> int:
        return 2 * self.wallets + 3 * (self.orders + self.blocks) + 2 * int(self.extra_deposit)


class Command(BaseCommand):
    help = (
        "Generate a large consistent ledger (accounts, wallets, products, orders, journals, entries) with "
        "set-based SQL, for benchmarks on a scratch PostgreSQL database (installed with BENCH=true only). "
        "Never run it on real data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--entries", type=int, default=1_000_000, help="Ledger entries to write (about).")
        parser.add_argument("--wallets", type=int, default=10_000, help="User wallets (and accounts) to create.")
        parser.add_argument("--days", type=int, default=30, help="Spread creation times over the last N days.")
        parser.add_argument("--append", action="store_true", help="Add to a database that already has ledger entries.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would be written; write nothing.")

    def handle(self, *args, entries: int, wallets: int, days: int, append: bool, dry_run: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("generate_ledger needs PostgreSQL (generate_series, md5 ids).")
        if wallets < 2:
            raise CommandError("--wallets must be at least 2 (a merchant and a buyer).")
        if entries < 2 * wallets:
            raise CommandError(f"--entries must be at least 2 x --wallets ({2 * wallets}): one deposit per wallet.")
        if days < 1:
            raise CommandError("--days must be at least 1.")
        plan = Plan.for_size(entries=entries, wallets=wallets)
        summary = (
            f"{plan.wallets} wallets ({plan.merchants} merchants), {plan.orders} orders "
            f"({plan.blocks} refunded), {plan.journals} journals, {plan.entries} entries"
        )
        if dry_run:
            self.stdout.write(f"Dry run: would write {summary}.")
            return
        if not append and LedgerEntry.objects.exists():
            raise CommandError("This database already has a ledger; use a scratch database, or pass --append.")

        clock = monotonic()
        salt = secrets.token_hex(4)
        progress = progress_bar(
            self.stderr, total=len(_STEPS), unit="step", enabled=options["verbosity"] > 0, every_step=True
        )
        with transaction.atomic(), connection.cursor() as cursor, progress:
            # Sorts for the window functions stay in memory on the server.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            for step, sql in _STEPS:
                progress.set_description(step)
                started = monotonic()
                cursor.execute(sql, _params(plan, salt=salt, days=days))
                progress.update(1)
                if options["verbosity"] > 1:
                    self.stdout.write(f"  {step}: {monotonic() - started:.1f} s")
        with connection.cursor() as cursor:
            # Fresh statistics, or the planner would treat the new tables as empty.
            cursor.execute(
                "ANALYZE accounts_user, wallets_wallet, catalog_product, orders_order, "
                "wallets_journal, wallets_ledgerentry"
            )
        self.stdout.write(self.style.SUCCESS(f"Wrote {summary} in {monotonic() - clock:.1f} s (run {salt})."))


def _params(plan: Plan, *, salt: str, days: int) -> dict:
    start = timezone.now() - timedelta(days=days)
    return {
        **LEDGER_PARAMS,
        "salt": salt,
        "wallets": plan.wallets,
        "merchants": plan.merchants,
        "buyers": plan.wallets - plan.merchants,
        "blocks": plan.blocks,
        "orders": plan.orders,
        "block_orders": plan.blocks * ORDERS_PER_BLOCK,
        "extra_deposit": plan.extra_deposit,
        "extra_deposit_no": plan.journals,
        "deposit": plan.deposit,
        "fee_rate": FEE_RATE,
        "start": start,
        "step_us": max(1, days * 86_400_000_000 // plan.journals),
        "currency": settings.CURRENCY,
        "user": Role.USER,
        "merchant": Role.MERCHANT,
        "external": SYSTEM_WALLET_IDS[WalletKind.EXTERNAL],
        "platform": SYSTEM_WALLET_IDS[WalletKind.PLATFORM_REVENUE],
        "completed": OrderStatus.COMPLETED,
        "refunded": OrderStatus.REFUNDED,
        "wallet_method": PaymentMethod.WALLET,
        "sale_refund": RefundKind.SALE,
        "refund_succeeded": RefundStatus.SUCCEEDED,
        "refund_source": StatusChangeSource.API,
    }


# Ids are md5(salt:what:number) as uuids: any row's id follows from its number,
# so no step needs a join to find another's. Journal n is created at
# start + n x step, so creation order is journal order.
_ID = "md5(%(salt)s || ':{what}:' || {number})::uuid"
_AT = "(%(start)s::timestamptz + ({number})::bigint * %(step_us)s * interval '1 microsecond')"

_ORDERS = f"""
CREATE TEMP TABLE generated_order ON COMMIT DROP AS
SELECT
    k,
    {_ID.format(what="order", number="k")} AS id,
    merchant_no,
    {_ID.format(what="user", number="merchant_no")} AS merchant_user_id,
    {_ID.format(what="wallet", number="merchant_no")} AS merchant_wallet_id,
    {_ID.format(what="user", number="buyer_no")} AS buyer_user_id,
    {_ID.format(what="wallet", number="buyer_no")} AS buyer_wallet_id,
    quantity,
    price,
    price * quantity AS total,
    ROUND(price * quantity * %(fee_rate)s, 2) AS fee,
    purchase_no,
    refund_no
FROM (
    SELECT
        k,
        1 + k %% %(merchants)s AS merchant_no,
        %(merchants)s + 1 + k %% %(buyers)s AS buyer_no,
        1 + k %% 3 AS quantity,
        (5 + (k %% %(merchants)s) %% 20)::numeric(14, 2) AS price,
        CASE WHEN k < %(block_orders)s
            THEN %(wallets)s + (k / 10) * 11 + k %% 10 + 1
            ELSE %(wallets)s + %(blocks)s * 11 + (k - %(block_orders)s) + 1
        END AS purchase_no,
        CASE WHEN k < %(block_orders)s AND k %% 10 = 0 THEN %(wallets)s + (k / 10) * 11 + 11 END AS refund_no
    FROM generate_series(0, %(orders)s - 1) AS k
) numbered
"""

_LEGS = f"""
CREATE TEMP TABLE generated_leg ON COMMIT DROP AS
SELECT n AS journal_no, 1 AS leg, %(deposit_kind)s AS kind, NULL::uuid AS order_id,
       {_ID.format(what="wallet", number="n")} AS wallet_id, TRUE AS on_user_wallet,
       %(deposit_type)s AS type, %(deposit)s::numeric(14, 2) AS amount
FROM generate_series(1, %(wallets)s) AS n
UNION ALL
SELECT n, 2, %(deposit_kind)s, NULL, %(external)s::uuid, FALSE, %(deposit_type)s, -%(deposit)s::numeric(14, 2)
FROM generate_series(1, %(wallets)s) AS n
UNION ALL
SELECT %(extra_deposit_no)s, 1, %(deposit_kind)s, NULL, {_ID.format(what="wallet", number="(%(merchants)s + 1)")},
       TRUE, %(deposit_type)s, 50.00
WHERE %(extra_deposit)s
UNION ALL
SELECT %(extra_deposit_no)s, 2, %(deposit_kind)s, NULL, %(external)s::uuid, FALSE, %(deposit_type)s, -50.00
WHERE %(extra_deposit)s
UNION ALL
SELECT purchase_no, 1, %(purchase_kind)s, id, buyer_wallet_id, TRUE, %(purchase_type)s, -total FROM generated_order
UNION ALL
SELECT purchase_no, 2, %(purchase_kind)s, id, merchant_wallet_id, TRUE, %(sale_type)s, total - fee
FROM generated_order
UNION ALL
SELECT purchase_no, 3, %(purchase_kind)s, id, %(platform)s::uuid, FALSE, %(fee_type)s, fee FROM generated_order
UNION ALL
SELECT refund_no, 1, %(refund_kind)s, id, buyer_wallet_id, TRUE, %(refund_type)s, total
FROM generated_order WHERE refund_no IS NOT NULL
UNION ALL
SELECT refund_no, 2, %(refund_kind)s, id, merchant_wallet_id, TRUE, %(sale_reversal_type)s, fee - total
FROM generated_order WHERE refund_no IS NOT NULL
UNION ALL
SELECT refund_no, 3, %(refund_kind)s, id, %(platform)s::uuid, FALSE, %(fee_reversal_type)s, -fee
FROM generated_order WHERE refund_no IS NOT NULL
"""

_USERS = f"""
INSERT INTO accounts_user
    (id, password, last_login, is_superuser, email, role, first_name, last_name, is_active, is_staff,
     auth_version, created_at, updated_at)
SELECT {_ID.format(what="user", number="n")}, '!' || md5(%(salt)s || ':password:' || n), NULL, FALSE,
       'ledger-' || %(salt)s || '-' || n || '@generated.invalid',
       CASE WHEN n <= %(merchants)s THEN %(merchant)s ELSE %(user)s END,
       'Generated', 'Account ' || n, TRUE, FALSE, 1, %(start)s, %(start)s
FROM generate_series(1, %(wallets)s) AS n
"""

_WALLETS = f"""
INSERT INTO wallets_wallet (id, kind, user_id, balance, currency, is_frozen, entry_count, created_at, updated_at)
SELECT {_ID.format(what="wallet", number="n")}, %(user_kind)s, {_ID.format(what="user", number="n")},
       totals.balance, %(currency)s, FALSE, totals.entry_count, %(start)s, %(start)s
FROM generate_series(1, %(wallets)s) AS n
JOIN (
    SELECT wallet_id, SUM(amount) AS balance, COUNT(*) AS entry_count
    FROM generated_leg WHERE on_user_wallet GROUP BY wallet_id
) totals ON totals.wallet_id = {_ID.format(what="wallet", number="n")}
"""

_PRODUCTS = f"""
INSERT INTO catalog_product
    (id, merchant_id, name, description, price, available_units, units_supplied, is_active, deleted_at,
     delivery_kind, created_at, updated_at)
SELECT {_ID.format(what="product", number="m")}, {_ID.format(what="user", number="m")},
       'Generated product ' || m, '', (5 + (m - 1) %% 20)::numeric(14, 2),
       1000000, 1000000 + COALESCE(held.units, 0), TRUE, NULL, 'NONE', %(start)s, %(start)s
FROM generate_series(1, %(merchants)s) AS m
LEFT JOIN (
    SELECT merchant_no, SUM(quantity) AS units FROM generated_order WHERE refund_no IS NULL GROUP BY merchant_no
) held ON held.merchant_no = m
"""

_ORDER_ROWS = f"""
INSERT INTO orders_order
    (id, buyer_id, merchant_id, product_id, product_name, unit_price, quantity, total_amount, fee_amount,
     currency, status, payment_method, payment_provider, payment_intent_id, payment_client_secret, expires_at,
     failure_reason, created_at, updated_at)
SELECT id, buyer_user_id, merchant_user_id, {_ID.format(what="product", number="merchant_no")},
       'Generated product ' || merchant_no, price, quantity, total, fee, %(currency)s,
       CASE WHEN refund_no IS NULL THEN %(completed)s ELSE %(refunded)s END, %(wallet_method)s, '', NULL, '',
       NULL, '', {_AT.format(number="purchase_no")}, {_AT.format(number="COALESCE(refund_no, purchase_no)")}
FROM generated_order
"""

# Every order has its delivery (delivery.Delivery), of a product with nothing to deliver: only its status
# (revoked_at is NULL with refund_no).
_DELIVERY_ROWS = f"""
INSERT INTO delivery_delivery
    (id, order_id, buyer_id, product_id, status, downloads_used, created_at, updated_at, delivered_at, revoked_at)
SELECT {_ID.format(what="delivery", number="purchase_no")}, id, buyer_user_id,
       {_ID.format(what="product", number="merchant_no")},
       CASE WHEN refund_no IS NULL THEN 'DELIVERED' ELSE 'REVOKED' END, 0,
       {_AT.format(number="purchase_no")}, {_AT.format(number="COALESCE(refund_no, purchase_no)")},
       {_AT.format(number="purchase_no")}, {_AT.format(number="refund_no")}
FROM generated_order
"""

_REFUND_ROWS = f"""
INSERT INTO orders_refund
    (id, order_id, kind, amount, fee_amount, status, reason, source, actor_id, request_key, gateway_refund_id,
     failure_reason, created_at, settled_at)
SELECT {_ID.format(what="refund", number="refund_no")}, id, %(sale_refund)s, total, fee, %(refund_succeeded)s, '',
       %(refund_source)s, NULL, '', NULL, '', {_AT.format(number="refund_no")}, {_AT.format(number="refund_no")}
FROM generated_order WHERE refund_no IS NOT NULL
"""

_JOURNALS = f"""
INSERT INTO wallets_journal (id, kind, description, order_id, created_by_id, created_at)
SELECT {_ID.format(what="journal", number="journal_no")}, kind, '', order_id, NULL, {_AT.format(number="journal_no")}
FROM generated_leg WHERE leg = 1
"""

_ENTRIES = f"""
INSERT INTO wallets_ledgerentry
    (id, journal_id, wallet_id, type, amount, balance_before, balance_after, sequence, description, order_id,
     created_at)
SELECT {_ID.format(what="entry", number="journal_no || ':' || leg")},
       {_ID.format(what="journal", number="journal_no")}, wallet_id, type, amount,
       CASE WHEN on_user_wallet THEN SUM(amount) OVER chain - amount END,
       CASE WHEN on_user_wallet THEN SUM(amount) OVER chain END,
       CASE WHEN on_user_wallet THEN ROW_NUMBER() OVER chain END,
       '', order_id, {_AT.format(number="journal_no")}
FROM generated_leg
WINDOW chain AS (PARTITION BY wallet_id ORDER BY journal_no, leg ROWS UNBOUNDED PRECEDING)
"""

_STEPS = (
    ("orders plan", _ORDERS),
    ("legs plan", _LEGS),
    ("accounts", _USERS),
    ("wallets", _WALLETS),
    ("products", _PRODUCTS),
    ("orders", _ORDER_ROWS),
    ("deliveries", _DELIVERY_ROWS),
    ("refunds", _REFUND_ROWS),
    ("journals", _JOURNALS),
    ("entries", _ENTRIES),
)
