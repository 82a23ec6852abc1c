"""What the ORM's bulk_update would cost a purchase, against the hand-built CASE UPDATE `ledger_post` uses.

`ledger_post` writes the new balances of a purchase's two wallets in one
statement, built by `wallets.services._write_balances`.
`Wallet.objects.bulk_update` sends the same single statement (a CASE per
column). This measures, in one process and interleaved round by round so both
see the same machine:

- a whole wallet purchase through the service (`order_purchase`: locks, stock,
  order, journal, balances, entries, history; no HTTP, so a lower bound of
  what a purchase costs and an upper bound of the share below),
- the balance UPDATE of two locked wallets through `bulk_update`,
- the same UPDATE as the hand-built CASE statement,

each inside a transaction that is rolled back, and prints the medians and
(bulk_update - hand-built) as a share of the purchase. Needs PostgreSQL (a
scratch database, created and dropped):

    .venv/bin/python bench/balance_update_bench.py [--rounds 30] [--per-round 50]
"""

# ruff: noqa: S603, S607 - runs PostgreSQL's own createdb/dropdb with arguments built here.

import argparse
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "pf_bench_balance_update"
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paymentflow.settings")
    import django

    django.setup()


class _Rollback(Exception):
    pass


def _timed(work, repeat: int) -> float:
    """Return the seconds per call of `work()`, run `repeat` times, each in a transaction rolled back."""
    from django.db import transaction

    started = time.perf_counter()
    for _ in range(repeat):
        try:
            with transaction.atomic():
                work()
                raise _Rollback
        except _Rollback:
            pass
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=50)
    args = parser.parse_args()

    subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    try:
        _setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _run(rounds=args.rounds, per_round=args.per_round)
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)


def _run(*, rounds: int, per_round: int) -> None:
    from django.utils import timezone

    from accounts.models import Role, User
    from catalog.services import product_create
    from orders.models import PaymentMethod
    from orders.services import order_purchase
    from wallets.locks import wallets_lock
    from wallets.models import Wallet
    from wallets.services import _write_balances, wallet_deposit

    buyer = User.objects.create_user(email="buyer@bench.invalid", password=None)
    merchant = User.objects.create_user(email="merchant@bench.invalid", password=None, role=Role.MERCHANT)
    wallet_deposit(user=buyer, amount=Decimal("10000.00"))
    product = product_create(merchant=merchant, name="Bench", price=Decimal("1.00"), available_units=1_000_000)

    def purchase() -> None:
        order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)

    def locked_pair() -> list[Wallet]:
        wallets = wallets_lock(user_ids=[buyer.id, merchant.id])
        pair = [wallets[buyer.id], wallets[merchant.id]]
        pair[0].balance, pair[1].balance = pair[0].balance - 1, pair[1].balance + 1
        pair[0].entry_count, pair[1].entry_count = pair[0].entry_count + 1, pair[1].entry_count + 1
        pair[0].updated_at = pair[1].updated_at = timezone.now()
        return pair

    def orm_update() -> None:
        Wallet.objects.bulk_update(locked_pair(), ["balance", "entry_count", "updated_at"])

    def hand_built_update() -> None:
        _write_balances(locked_pair())

    def lock_only() -> None:
        locked_pair()

    figures: dict[str, list[float]] = {"purchase": [], "lock": [], "orm": [], "hand": []}
    for work in (purchase, lock_only, orm_update, hand_built_update):
        _timed(work, 20)  # warm-up: connection, statement caches, imports
    for _ in range(rounds):
        figures["purchase"].append(_timed(purchase, per_round))
        figures["lock"].append(_timed(lock_only, per_round))
        figures["orm"].append(_timed(orm_update, per_round))
        figures["hand"].append(_timed(hand_built_update, per_round))

    median = {name: statistics.median(values) * 1000 for name, values in figures.items()}
    orm, hand = median["orm"] - median["lock"], median["hand"] - median["lock"]
    print(f"rounds {rounds} x {per_round} calls, medians in ms per call (each in a rolled-back transaction)")
    print(f"  wallet purchase (service, no HTTP)   {median['purchase']:.3f}")
    print(f"  lock two wallets                     {median['lock']:.3f}")
    print(f"  balance UPDATE via bulk_update       {orm:.3f}")
    print(f"  balance UPDATE, hand-built CASE      {hand:.3f}")
    share = (orm - hand) / median["purchase"]
    print(f"  bulk_update - hand-built             {orm - hand:+.3f} = {share:+.1%} of a purchase")


if __name__ == "__main__":
    main()
