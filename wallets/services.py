"""Every write to the ledger. `ledger_post` is the one money mover; the rest build its legs.

Callers lock first (`wallets.locks`), in their own transaction, and hand the
locked wallets to `ledger_post`, which only checks and writes. System accounts
are never locked or updated (append-only), so every purchase can post a fee to
the platform account without queueing behind the others.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.metrics import ledger_journal_record
from core.money import is_whole_cents
from core.transactions import atomic_required
from wallets.exceptions import (
    AdjustmentReasonRequired,
    AmountAboveMaximum,
    AmountBelowMinimum,
    InsufficientFunds,
    InvalidAmount,
    WalletFrozen,
)
from wallets.locks import LockedWallets, wallets_lock
from wallets.models import (
    SYSTEM_WALLET_IDS,
    EntryType,
    Journal,
    JournalKind,
    LedgerEntry,
    Wallet,
    WalletKind,
)

logger = logging.getLogger("paymentflow.wallets")


@dataclass(frozen=True)
class Leg:
    """One side of a movement: `amount` (signed, positive = money in) on `wallet`."""

    wallet: Wallet
    amount: Decimal
    entry_type: str
    description: str = ""


@dataclass(frozen=True)
class Posting:
    """What `ledger_post` wrote: the journal and its entries, in leg order."""

    journal: Journal
    entries: tuple[LedgerEntry, ...]

    def entry_for(self, wallet: Wallet) -> LedgerEntry:
        """Return the (first) entry this posting wrote on `wallet`."""
        return next(entry for entry in self.entries if entry.wallet_id == wallet.id)


def _validated_legs(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise ValueError("A journal needs at least two legs.")
    for leg in legs:
        if not isinstance(leg.amount, Decimal):
            raise TypeError(f"Leg amounts must be Decimals, got {leg.amount!r}.")
        if leg.amount == 0 or not is_whole_cents(leg.amount):
            raise ValueError(f"Leg amounts must be non-zero whole cents, got {leg.amount}.")
        if leg.entry_type not in EntryType.values:
            raise ValueError(f"Unknown entry type {leg.entry_type!r}.")
    if sum(leg.amount for leg in legs) != 0:
        raise ValueError("The legs of a journal must sum to zero.")


def ledger_post(
    *,
    wallets: LockedWallets,
    kind: str,
    legs: Sequence[Leg],
    description: str = "",
    order_id: UUID | None = None,
    created_by=None,
    allow_frozen: bool = False,
) -> Posting:
    """Move money: write one journal whose entries (one per leg) sum to zero.

    Every user wallet of the legs must be among `wallets`, locked by the caller
    in the transaction this runs in; their balances, entry counts and frozen
    flags as read under that lock decide. A frozen wallet (unless
    `allow_frozen`) or a balance that would go below zero is refused before
    anything is written, leaving `wallets` as they were. Then three statements:
    the journal, the new balances of every changed wallet (one UPDATE), the
    entries (one INSERT). Any error leaves the caller's transaction to roll back.
    """
    if kind not in JournalKind.values:
        raise ValueError(f"Unknown journal kind {kind!r}.")
    _validated_legs(legs)
    atomic_required("ledger_post() must run inside the transaction that locked its wallets.")

    # Descriptions are labels (often built from a product name): cut to the
    # column rather than fail a payment over one.
    journal = Journal(kind=kind, description=description[:255], order_id=order_id, created_by=created_by)
    entries: list[LedgerEntry] = []
    # New (balance, entry count) per changed wallet, decided before any write.
    new_state: dict[UUID, tuple[Decimal, int]] = {}
    for leg in legs:
        entry = LedgerEntry(
            journal=journal,
            wallet_id=leg.wallet.id,
            type=leg.entry_type,
            amount=leg.amount,
            description=leg.description[:255],
            order_id=order_id,
        )
        if leg.wallet.kind == WalletKind.USER:
            wallet = wallets.by_wallet_id(leg.wallet.id)
            if wallet is None:
                raise ValueError(f"User wallet {leg.wallet.id} is not among the locked wallets.")
            if wallet.is_frozen and not allow_frozen:
                raise WalletFrozen()
            balance_before, count = new_state.get(wallet.id, (wallet.balance, wallet.entry_count))
            balance_after = balance_before + leg.amount
            if balance_after < 0:
                raise InsufficientFunds.for_balance(balance=balance_before, amount=-leg.amount)
            entry.balance_before, entry.balance_after, entry.sequence = balance_before, balance_after, count + 1
            new_state[wallet.id] = (balance_after, count + 1)
        entries.append(entry)

    changed = [wallets.by_wallet_id(wallet_id) for wallet_id in new_state]
    before = [(wallet.balance, wallet.entry_count, wallet.updated_at) for wallet in changed]
    now = timezone.now()
    for wallet in changed:
        wallet.balance, wallet.entry_count = new_state[wallet.id]
        wallet.updated_at = now
    try:
        journal.save(force_insert=True)
        # We hold the row locks, so writing values computed under them cannot lose a concurrent change.
        _write_balances(changed)
        LedgerEntry.objects.bulk_create(entries)
    except BaseException:
        # The caller may catch the error inside a savepoint and go on with these objects.
        for wallet, (balance, entry_count, updated_at) in zip(changed, before, strict=True):
            wallet.balance, wallet.entry_count, wallet.updated_at = balance, entry_count, updated_at
        raise
    ledger_journal_record(kind=kind)
    return Posting(journal=journal, entries=tuple(entries))


def _write_balances(wallets: Sequence[Wallet]) -> None:
    """Write the balance, entry count and updated_at of these (locked) wallets in one UPDATE.

    Built here rather than by `Wallet.objects.bulk_update`, which sends the same
    single statement but assembles it from Case/When expressions:
    `bench/balance_update_bench.py` measured that at +2.5 ms a call, 27% of a
    whole wallet purchase (the bar for keeping a hand-built statement was 5%).
    Table and column names come from the model, never from input; a plain CASE
    without casts, so the embedded SQLite runs the same statement.
    """
    if not wallets:
        return
    meta = Wallet._meta
    connection = transaction.get_connection()
    fields = {name: meta.get_field(name) for name in ("id", "balance", "entry_count", "updated_at")}

    def prep(name: str, value):
        return fields[name].get_db_prep_save(value, connection)

    ids = [prep("id", wallet.id) for wallet in wallets]
    cases = " ".join(["WHEN %s THEN %s"] * len(wallets))
    sql = (
        f'UPDATE "{meta.db_table}" SET "balance" = CASE "id" {cases} END, '  # noqa: S608
        f'"entry_count" = CASE "id" {cases} END, "updated_at" = %s '
        f'WHERE "id" IN ({", ".join(["%s"] * len(wallets))})'
    )
    params: list = []
    for pk, wallet in zip(ids, wallets, strict=True):
        params += [pk, prep("balance", wallet.balance)]
    for pk, wallet in zip(ids, wallets, strict=True):
        params += [pk, prep("entry_count", wallet.entry_count)]
    # Every wallet of one posting gets the same time.
    params += [prep("updated_at", wallets[0].updated_at), *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def system_wallet(*, kind: str) -> Wallet:
    """Return the system account of this kind (EXTERNAL, PLATFORM_REVENUE, …) as a leg's wallet.

    No query: system accounts have fixed ids (created by a migration, and again
    after every flush by `wallets.signals`), are never locked and keep no
    running balance, so a leg needs only their id and kind.
    """
    if kind not in SYSTEM_WALLET_IDS:
        raise ValueError(f"{kind!r} is not a system account kind.")
    return Wallet(id=SYSTEM_WALLET_IDS[kind], kind=kind)


def _positive_amount(amount: Decimal) -> Decimal:
    if not is_whole_cents(amount) or amount <= 0:
        raise InvalidAmount()
    return amount


def _move_external(*, user, amount: Decimal, kind: str, description: str) -> LedgerEntry:
    """Post a deposit (money in, `amount` > 0) or a withdrawal (money out, `amount` < 0) against external funds."""
    # Both legs of a deposit are DEPOSIT entries (of a withdrawal, WITHDRAWAL ones).
    entry_type = EntryType(kind)
    wallets = wallets_lock(user_ids=[user.id])
    wallet = wallets[user.id]
    posting = ledger_post(
        wallets=wallets,
        kind=kind,
        description=description,
        legs=[
            Leg(wallet=wallet, amount=amount, entry_type=entry_type, description=description),
            Leg(wallet=system_wallet(kind=WalletKind.EXTERNAL), amount=-amount, entry_type=entry_type),
        ],
    )
    return posting.entry_for(wallet)


@transaction.atomic
def wallet_deposit(*, user, amount: Decimal, description: str = "") -> LedgerEntry:
    """Credit the user's wallet from external funds; return the user's DEPOSIT entry."""
    amount = _positive_amount(amount)
    if amount > settings.MAXIMUM_DEPOSIT:
        raise AmountAboveMaximum(f"Amount {amount} is above the maximum deposit of {settings.MAXIMUM_DEPOSIT}.")
    return _move_external(user=user, amount=amount, kind=JournalKind.DEPOSIT, description=description)


@transaction.atomic
def wallet_withdraw(*, user, amount: Decimal, description: str = "") -> LedgerEntry:
    """Debit the user's wallet to external funds; return the user's WITHDRAWAL entry."""
    amount = _positive_amount(amount)
    if amount < settings.MINIMUM_WITHDRAWAL:
        raise AmountBelowMinimum(f"Amount {amount} is below the minimum withdrawal of {settings.MINIMUM_WITHDRAWAL}.")
    return _move_external(user=user, amount=-amount, kind=JournalKind.WITHDRAWAL, description=description)


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
    if not is_whole_cents(amount) or amount == 0:
        raise InvalidAmount("Adjustment amount must be non-zero with at most 2 decimal places.")
    wallets = wallets_lock(user_ids=[wallet.user_id])
    posting = ledger_post(
        wallets=wallets,
        kind=JournalKind.ADJUSTMENT,
        description=reason,
        created_by=operator,
        allow_frozen=True,
        legs=[
            Leg(wallet=wallets[wallet.user_id], amount=amount, entry_type=EntryType.ADJUSTMENT, description=reason),
            Leg(
                wallet=system_wallet(kind=WalletKind.ADJUSTMENTS),
                amount=-amount,
                entry_type=EntryType.ADJUSTMENT,
                description=reason,
            ),
        ],
    )
    logger.info("Wallet %s adjusted by %s by operator %s: %s", wallet.id, amount, operator, reason)
    return posting.entry_for(wallet)


def _set_frozen(*, wallet: Wallet, frozen: bool, operator) -> Wallet:
    # Taking the row lock waits for a movement in flight, so once this returns
    # no later movement can pass the frozen check.
    locked = wallets_lock(user_ids=[wallet.user_id])[wallet.user_id]
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
