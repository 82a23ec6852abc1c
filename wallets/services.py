"""Every write to the ledger. `ledger_post` is the one money mover; the rest build its legs.

Locking (DESIGN.md, Concurrency rules): user wallets are locked with
SELECT … FOR UPDATE in id order before anything is decided, then each changed
wallet gets one UPDATE with the balance computed under that lock. System
accounts are never locked or updated (append-only), so every purchase can post
a fee to the platform account without queueing behind the others.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.money import quantize
from wallets.exceptions import (
    AdjustmentReasonRequired,
    AmountAboveMaximum,
    AmountBelowMinimum,
    InsufficientFunds,
    InvalidAmount,
    WalletFrozen,
)
from wallets.models import (
    SYSTEM_WALLET_IDS,
    EntryType,
    Journal,
    JournalKind,
    LedgerEntry,
    Wallet,
    WalletKind,
)

logger = logging.getLogger("wallets")


@dataclass(frozen=True)
class Leg:
    """One side of a movement: `amount` (signed, positive = money in) on `wallet`."""

    wallet: Wallet
    amount: Decimal
    entry_type: str
    description: str = ""


def _validated_legs(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise ValueError("A journal needs at least two legs.")
    for leg in legs:
        if not isinstance(leg.amount, Decimal) or not leg.amount.is_finite():
            raise TypeError(f"Leg amounts must be finite Decimals, got {leg.amount!r}.")
        if leg.amount == 0 or quantize(leg.amount) != leg.amount:
            raise ValueError(f"Leg amounts must be non-zero whole cents, got {leg.amount}.")
        if leg.entry_type not in EntryType.values:
            raise ValueError(f"Unknown entry type {leg.entry_type!r}.")
    if sum(leg.amount for leg in legs) != 0:
        raise ValueError("The legs of a journal must sum to zero.")


def ledger_post(
    *,
    kind: str,
    legs: Sequence[Leg],
    description: str = "",
    order_id: UUID | None = None,
    created_by=None,
    allow_frozen: bool = False,
    locked_wallets: Iterable[Wallet] | None = None,
) -> Journal:
    """Move money: write one journal whose entries (one per leg) sum to zero.

    Locks the user wallets of the legs (by id), refuses a frozen wallet (unless
    `allow_frozen`) and any balance that would go below zero, then writes the
    new balances, the journal and its entries. The returned journal's
    `entries.all()` are the new entries in leg order, without a query; the
    Wallet objects of the legs carry their new balance and entry count.

    On its own it is atomic (a savepoint inside a caller's transaction), so a
    caller may catch its errors and go on. `locked_wallets` makes it part of the
    caller's transaction instead: pass what `wallet_lock` returned there, and
    the balances, entry counts and frozen flags read under that lock are used
    as they are (every user wallet of the legs must be among them), with no
    second lock and no savepoint. An error then marks the caller's transaction
    for rollback. The purchase path uses this: it is what runs while the
    product row is locked, so each round trip saved there is throughput.
    """
    if kind not in JournalKind.values:
        raise ValueError(f"Unknown journal kind {kind!r}.")
    _validated_legs(legs)
    if locked_wallets is None:
        with transaction.atomic():
            return _post(kind, legs, description, order_id, created_by, allow_frozen, _lock_user_wallets(legs))
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_post(locked_wallets=...) must run inside the transaction that locked them.")
    locked = {wallet.id: wallet for wallet in locked_wallets}
    missing = {leg.wallet.id for leg in legs if leg.wallet.kind == WalletKind.USER} - set(locked)
    if missing:
        raise ValueError(f"User wallets {sorted(map(str, missing))} are not among the locked wallets.")
    # savepoint=False: no SAVEPOINT/RELEASE round trips; a failure dooms the caller's transaction.
    with transaction.atomic(savepoint=False):
        return _post(kind, legs, description, order_id, created_by, allow_frozen, locked)


def _lock_user_wallets(legs: Sequence[Leg]) -> dict[UUID, Wallet]:
    user_wallet_ids = sorted({leg.wallet.id for leg in legs if leg.wallet.kind == WalletKind.USER})
    locked = {
        wallet.id: wallet
        for wallet in Wallet.objects.select_for_update()
        .filter(id__in=user_wallet_ids, kind=WalletKind.USER)
        .order_by("id")
        .only("id", "balance", "entry_count", "is_frozen")
    }
    if len(locked) != len(user_wallet_ids):
        raise Wallet.DoesNotExist("A leg names a user wallet that does not exist.")
    return locked


def _wallet_update_sql(count: int) -> str:
    meta = Wallet._meta
    cases = " ".join(["WHEN %s THEN %s"] * count)
    # Column and table names come from the model, never from input. Plain CASE, no
    # casts: the embedded SQLite of `make run` runs the same statement.
    return (
        f'UPDATE "{meta.db_table}" SET "balance" = CASE "id" {cases} END, '  # noqa: S608
        f'"entry_count" = CASE "id" {cases} END, "updated_at" = %s '
        f'WHERE "id" IN ({", ".join(["%s"] * count)})'
    )


def _wallet_update_params(new_state: dict[UUID, tuple[Decimal, int]], now) -> list:
    connection = transaction.get_connection()
    fields = {name: Wallet._meta.get_field(name) for name in ("id", "balance", "entry_count", "updated_at")}

    def prep(name: str, value):
        return fields[name].get_db_prep_save(value, connection)

    ids = [prep("id", wallet_id) for wallet_id in new_state]
    params: list = []
    for wallet_id, (balance, _count) in zip(ids, new_state.values(), strict=True):
        params += [wallet_id, prep("balance", balance)]
    for wallet_id, (_balance, count) in zip(ids, new_state.values(), strict=True):
        params += [wallet_id, prep("entry_count", count)]
    return [*params, prep("updated_at", now), *ids]


def _post(kind, legs, description, order_id, created_by, allow_frozen, locked: dict[UUID, Wallet]) -> Journal:
    """Write the journal, its entries and the new balances of the `locked` user wallets."""
    if not allow_frozen:
        for wallet in locked.values():
            if wallet.is_frozen:
                raise WalletFrozen()

    # Descriptions are labels (often built from a product name): cut to the
    # column rather than fail a payment over one.
    journal = Journal(kind=kind, description=description[:255], order_id=order_id, created_by=created_by)
    entries: list[LedgerEntry] = []
    # New (balance, entry count) per changed wallet. Kept apart from the Wallet
    # objects until every write succeeded: a refused leg must leave the caller's
    # objects as they were, or a later post with them would start from a wrong balance.
    new_state: dict[UUID, tuple[Decimal, int]] = {}
    for leg in legs:
        wallet = locked.get(leg.wallet.id)
        entry = LedgerEntry(
            journal=journal,
            wallet_id=leg.wallet.id,
            type=leg.entry_type,
            amount=leg.amount,
            description=leg.description[:255],
            order_id=order_id,
        )
        if wallet is not None:
            balance_before, count = new_state.get(wallet.id, (wallet.balance, wallet.entry_count))
            balance_after = balance_before + leg.amount
            if balance_after < 0:
                raise InsufficientFunds(f"Wallet balance {balance_before} is less than {-leg.amount}.")
            entry.balance_before, entry.balance_after, entry.sequence = balance_before, balance_after, count + 1
            new_state[wallet.id] = (balance_after, count + 1)
        entries.append(entry)

    now = timezone.now()
    journal.save(force_insert=True)
    if new_state:
        # We hold the row locks, so writing the values computed above cannot lose a
        # concurrent change. One UPDATE for all the wallets: one round trip.
        with transaction.get_connection().cursor() as cursor:
            cursor.execute(_wallet_update_sql(len(new_state)), _wallet_update_params(new_state, now))
    LedgerEntry.objects.bulk_create(entries)

    for wallet in {id(w): w for w in [*locked.values(), *(leg.wallet for leg in legs)]}.values():
        if wallet.id in new_state:
            wallet.balance, wallet.entry_count = new_state[wallet.id]
            wallet.updated_at = now
    journal._prefetched_objects_cache = {"entries": entries}
    return journal


def wallet_lock(*, user_ids: Iterable[UUID]) -> dict[UUID, Wallet]:
    """Lock the wallets of these users (in wallet id order) and return them by user id.

    Must run inside the caller's transaction.atomic(): the locks last until it
    ends. Orders takes these locks before the product's, one global order.
    """
    user_ids = set(user_ids)
    wallets = list(Wallet.objects.select_for_update().filter(user_id__in=user_ids, kind=WalletKind.USER).order_by("id"))
    if len(wallets) != len(user_ids):
        raise Wallet.DoesNotExist("A user has no wallet.")
    return {wallet.user_id: wallet for wallet in wallets}


def system_wallet(*, kind: str) -> Wallet:
    """Return the system account of this kind (EXTERNAL, PLATFORM_REVENUE, …).

    The rows come from a data migration with fixed ids; get_or_create puts one
    back if it is missing (a test-database flush truncates migration data too).
    """
    if kind not in SYSTEM_WALLET_IDS:
        raise ValueError(f"{kind!r} is not a system account kind.")
    wallet, _ = Wallet.objects.get_or_create(id=SYSTEM_WALLET_IDS[kind], defaults={"kind": kind})
    return wallet


def _positive_amount(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or quantize(amount) != amount:
        raise InvalidAmount()
    return amount


def _user_wallet(user) -> Wallet:
    return Wallet.objects.only("id", "kind").get(user=user, kind=WalletKind.USER)


def _entry_of(journal: Journal, wallet: Wallet) -> LedgerEntry:
    return next(entry for entry in journal.entries.all() if entry.wallet_id == wallet.id)


@transaction.atomic
def wallet_deposit(*, user, amount: Decimal, description: str = "") -> LedgerEntry:
    """Credit the user's wallet from external funds; return the user's DEPOSIT entry."""
    amount = _positive_amount(amount)
    if amount > settings.MAXIMUM_DEPOSIT:
        raise AmountAboveMaximum(f"Amount {amount} is above the maximum deposit of {settings.MAXIMUM_DEPOSIT}.")
    wallet = _user_wallet(user)
    journal = ledger_post(
        kind=JournalKind.DEPOSIT,
        description=description,
        legs=[
            Leg(wallet=wallet, amount=amount, entry_type=EntryType.DEPOSIT, description=description),
            Leg(wallet=system_wallet(kind=WalletKind.EXTERNAL), amount=-amount, entry_type=EntryType.DEPOSIT),
        ],
    )
    return _entry_of(journal, wallet)


@transaction.atomic
def wallet_withdraw(*, user, amount: Decimal, description: str = "") -> LedgerEntry:
    """Debit the user's wallet to external funds; return the user's WITHDRAWAL entry."""
    amount = _positive_amount(amount)
    if amount < settings.MINIMUM_WITHDRAWAL:
        raise AmountBelowMinimum(f"Amount {amount} is below the minimum withdrawal of {settings.MINIMUM_WITHDRAWAL}.")
    wallet = _user_wallet(user)
    journal = ledger_post(
        kind=JournalKind.WITHDRAWAL,
        description=description,
        legs=[
            Leg(wallet=wallet, amount=-amount, entry_type=EntryType.WITHDRAWAL, description=description),
            Leg(wallet=system_wallet(kind=WalletKind.EXTERNAL), amount=amount, entry_type=EntryType.WITHDRAWAL),
        ],
    )
    return _entry_of(journal, wallet)


@transaction.atomic
def wallet_adjust(*, wallet: Wallet, amount: Decimal, reason: str, operator) -> LedgerEntry:
    """Correct a user wallet by a signed amount against the adjustments account.

    Operators may adjust a frozen wallet (that is often why it is frozen), but
    never below zero. The operator is recorded on the journal.
    """
    reason = reason.strip()
    if not reason:
        raise AdjustmentReasonRequired()
    if wallet.kind != WalletKind.USER:
        raise ValueError("Only user wallets can be adjusted.")
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0 or quantize(amount) != amount:
        raise InvalidAmount("Adjustment amount must be non-zero with at most 2 decimal places.")
    journal = ledger_post(
        kind=JournalKind.ADJUSTMENT,
        description=reason,
        created_by=operator,
        allow_frozen=True,
        legs=[
            Leg(wallet=wallet, amount=amount, entry_type=EntryType.ADJUSTMENT, description=reason),
            Leg(
                wallet=system_wallet(kind=WalletKind.ADJUSTMENTS),
                amount=-amount,
                entry_type=EntryType.ADJUSTMENT,
                description=reason,
            ),
        ],
    )
    logger.info("Wallet %s adjusted by %s by operator %s: %s", wallet.id, amount, operator, reason)
    return _entry_of(journal, wallet)


def _set_frozen(*, wallet: Wallet, frozen: bool, operator) -> Wallet:
    # Taking the row lock waits for a movement in flight, so once this returns
    # no later movement can pass the frozen check.
    locked = Wallet.objects.select_for_update().get(id=wallet.id, kind=WalletKind.USER)
    if locked.is_frozen != frozen:
        locked.is_frozen = frozen
        locked.save(update_fields=["is_frozen", "updated_at"])
        logger.info("Wallet %s %s by operator %s", wallet.id, "frozen" if frozen else "unfrozen", operator)
    wallet.is_frozen, wallet.updated_at = locked.is_frozen, locked.updated_at
    return locked


@transaction.atomic
def wallet_freeze(*, wallet: Wallet, operator) -> Wallet:
    """Freeze a user wallet: deposits, withdrawals and purchases answer 409 wallet_frozen."""
    return _set_frozen(wallet=wallet, frozen=True, operator=operator)


@transaction.atomic
def wallet_unfreeze(*, wallet: Wallet, operator) -> Wallet:
    """Lift a freeze."""
    return _set_frozen(wallet=wallet, frozen=False, operator=operator)
