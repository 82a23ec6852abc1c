"""Where wallet rows are locked: SELECT … FOR UPDATE of user wallets, in wallet id order.

A user wallet is locked before its balance is read for a decision and stays
locked until the transaction ends; `ledger_post` only ever writes wallets
locked here. System accounts are never locked (they are append-only, so no
movement queues behind another on them). A transaction that also locks a
product or an order takes the wallets first: the global order is composed,
once, in `orders.locks`.
"""

from collections.abc import Iterable, Iterator, Mapping
from uuid import UUID

from django.db.models import QuerySet

from core.transactions import atomic_required
from wallets.models import Wallet, WalletKind


def wallet_qs_select_for_update() -> QuerySet[Wallet]:
    """Return user wallets to lock, in the one order every transaction takes them (by id)."""
    return Wallet.objects.select_for_update(of=("self",)).filter(kind=WalletKind.USER).order_by("id")


class LockedWallets(Mapping[UUID, Wallet]):
    """User wallets locked in the current transaction, by their owner's user id.

    What `ledger_post` moves money on: the balances, entry counts and frozen
    flags it decides with are the ones read under the lock, and after a
    posting these objects carry the new balances.
    """

    def __init__(self, wallets: Iterable[Wallet]):
        self._by_user = {wallet.user_id: wallet for wallet in wallets}
        self._by_id = {wallet.id: wallet for wallet in self._by_user.values()}

    def __getitem__(self, user_id: UUID) -> Wallet:
        return self._by_user[user_id]

    def __iter__(self) -> Iterator[UUID]:
        return iter(self._by_user)

    def __len__(self) -> int:
        return len(self._by_user)

    def by_wallet_id(self, wallet_id: UUID) -> Wallet | None:
        return self._by_id.get(wallet_id)


def wallets_lock_queryset(queryset: QuerySet[Wallet]) -> LockedWallets:
    """Lock the wallets of `queryset` (built on `wallet_qs_select_for_update`) in the caller's transaction."""
    atomic_required("Wallets can only be locked inside the transaction that uses them.")
    return LockedWallets(queryset)


def wallets_lock(*, user_ids: Iterable[UUID]) -> LockedWallets:
    """Lock the wallets of these users; raise `Wallet.DoesNotExist` if one of them has none."""
    user_ids = set(user_ids)
    locked = wallets_lock_queryset(wallet_qs_select_for_update().filter(user_id__in=user_ids))
    if len(locked) != len(user_ids):
        raise Wallet.DoesNotExist("A user has no wallet.")
    return locked
