"""Seed the benchmark's scratch database, set-based, and write the files the wrk scripts read.

Run by `bench/run.py` (never against a real database: it writes straight into the
tables). Everything the services would have written is written here in a few
INSERT … SELECT statements, consistent enough that `manage.py reconcile` finds
the result clean:

- the hot case: one merchant, one product priced 1.00 with 1,000,000,000 units,
  `--hot-buyers` buyers funded with 1,000.00 each;
- the codes case: one CODES product of the hot merchant, priced 1.00, whose pool
  holds `--codes` codes (encrypted and hashed by delivery.crypto, as an upload does);
- the spread case: 1,000 merchants with one product each (prices 1.00 … 10.00,
  1,000,000 units) and `--spread-buyers` buyers funded with 10,000.00 each, so no
  wallet and no product is a hot row;
- the history case: one wallet with `--history-entries` entries (alternately a
  2.00 deposit and a 1.00 withdrawal, each its own journal with an EXTERNAL leg),
  numbered 1…N with an unbroken balance_before/balance_after chain.

Every funded wallet got its money from a DEPOSIT journal. Two helper tables
(`bench_buyer`, `bench_product`) map small integers to ids for pgbench.
Access tokens (one per buyer, in buyer order) go to `<out>/hot_tokens.txt`,
`<out>/spread_tokens.txt` and `<out>/history_token.txt`; product ids to
`<out>/hot_products.txt` and `<out>/spread_products.txt`; `<out>/seed.json`
has the ids and counts `run.py` needs.
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from time import monotonic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paymentflow.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import token_pair_for  # noqa: E402
from delivery.crypto import code_encrypt, code_hint, code_lookup_hash  # noqa: E402
from wallets.models import SYSTEM_WALLET_IDS, WalletKind  # noqa: E402

HOT_STOCK = 1_000_000_000
SPREAD_STOCK = 1_000_000
SPREAD_PRODUCTS = 1_000
HOT_FUNDS = "1000.00"
SPREAD_FUNDS = "10000.00"
# An unusable password (Django's "!" prefix): these accounts only ever use the tokens written below.
UNUSABLE_PASSWORD = "!bench"  # noqa: S105 (not a password: the marker of none)

HELPER_TABLES = """
CREATE TABLE bench_buyer (n integer PRIMARY KEY, kind text NOT NULL, user_id uuid NOT NULL, wallet_id uuid NOT NULL);
CREATE TABLE bench_product (
    n integer PRIMARY KEY, product_id uuid NOT NULL, merchant_id uuid NOT NULL, merchant_wallet_id uuid NOT NULL
);
CREATE TABLE bench_account (
    n integer PRIMARY KEY, kind text NOT NULL, role text NOT NULL, funds numeric(14, 2) NOT NULL,
    user_id uuid NOT NULL DEFAULT gen_random_uuid(), wallet_id uuid NOT NULL DEFAULT gen_random_uuid(),
    journal_id uuid NOT NULL DEFAULT gen_random_uuid()
);
"""


def _accounts(cursor, *, hot_buyers: int, spread_buyers: int) -> None:
    """Plan every account: n 0 = hot merchant, then the buyers, the spread merchants, the history wallet."""
    rows = [
        ("hot_merchant", "MERCHANT", "0", 0, 0),
        ("hot_buyer", "USER", HOT_FUNDS, 1, hot_buyers),
        ("spread_buyer", "USER", SPREAD_FUNDS, hot_buyers + 1, hot_buyers + spread_buyers),
        (
            "spread_merchant",
            "MERCHANT",
            "0",
            hot_buyers + spread_buyers + 1,
            hot_buyers + spread_buyers + SPREAD_PRODUCTS,
        ),
        (
            "history",
            "USER",
            "0",
            hot_buyers + spread_buyers + SPREAD_PRODUCTS + 1,
            hot_buyers + spread_buyers + SPREAD_PRODUCTS + 1,
        ),
    ]
    for kind, role, funds, first, last in rows:
        cursor.execute(
            "INSERT INTO bench_account (n, kind, role, funds) SELECT n, %s, %s, %s FROM generate_series(%s, %s) n",
            [kind, role, funds, first, last],
        )
    cursor.execute(
        """
        INSERT INTO accounts_user (id, password, is_superuser, email, role, first_name, last_name,
                                   is_active, is_staff, auth_version, created_at, updated_at)
        SELECT user_id, %s, false, kind || '-' || n || '@bench.invalid', role, 'Bench', kind,
               true, false, 1, now(), now()
        FROM bench_account
        """,
        [UNUSABLE_PASSWORD],
    )
    cursor.execute(
        """
        INSERT INTO wallets_wallet (id, kind, user_id, balance, currency, is_frozen, entry_count,
                                    created_at, updated_at)
        SELECT wallet_id, 'USER', user_id, funds, %s, false, CASE WHEN funds > 0 THEN 1 ELSE 0 END, now(), now()
        FROM bench_account
        """,
        ["USD"],
    )
    # Each funded wallet's money comes from one DEPOSIT journal: its own entry and the EXTERNAL leg.
    cursor.execute(
        """
        INSERT INTO wallets_journal (id, kind, description, created_at)
        SELECT journal_id, 'DEPOSIT', 'Bench funding', now() FROM bench_account WHERE funds > 0
        """
    )
    cursor.execute(
        """
        INSERT INTO wallets_ledgerentry (id, journal_id, wallet_id, type, amount, balance_before, balance_after,
                                         sequence, description, created_at)
        SELECT gen_random_uuid(), journal_id, wallet_id, 'DEPOSIT', funds, 0, funds, 1, 'Bench funding', now()
        FROM bench_account WHERE funds > 0
        UNION ALL
        SELECT gen_random_uuid(), journal_id, %s, 'DEPOSIT', -funds, NULL, NULL, NULL, '', now()
        FROM bench_account WHERE funds > 0
        """,
        [SYSTEM_WALLET_IDS[WalletKind.EXTERNAL]],
    )
    cursor.execute(
        """
        INSERT INTO bench_buyer (n, kind, user_id, wallet_id)
        SELECT n, kind, user_id, wallet_id FROM bench_account WHERE kind IN ('hot_buyer', 'spread_buyer')
        """
    )


def _products(cursor, *, hot_buyers: int, spread_buyers: int) -> None:
    """One hot product (bench_product n 0) and one product per spread merchant (n 1 … 1000)."""
    cursor.execute(
        """
        INSERT INTO bench_product (n, product_id, merchant_id, merchant_wallet_id)
        SELECT 0, gen_random_uuid(), user_id, wallet_id FROM bench_account WHERE kind = 'hot_merchant'
        UNION ALL
        SELECT n - %s, gen_random_uuid(), user_id, wallet_id FROM bench_account WHERE kind = 'spread_merchant'
        """,
        [hot_buyers + spread_buyers],
    )
    cursor.execute(
        """
        INSERT INTO catalog_product (id, merchant_id, name, description, price, available_units, units_supplied,
                                     is_active, delivery_kind, created_at, updated_at)
        SELECT product_id, merchant_id,
               CASE WHEN n = 0 THEN 'Hot item' ELSE 'Spread item ' || n END,
               'A benchmark product.',
               CASE WHEN n = 0 THEN 1.00 ELSE 1 + (n %% 10) END,
               CASE WHEN n = 0 THEN %s ELSE %s END,
               CASE WHEN n = 0 THEN %s ELSE %s END,
               true, 'NONE', now() - n * interval '1 second', now()
        FROM bench_product
        """,
        [HOT_STOCK, SPREAD_STOCK, HOT_STOCK, SPREAD_STOCK],
    )


def _codes_product(cursor, *, codes: int) -> str:
    """The hot merchant's CODES product, priced like the hot item, with `codes` codes as uploads write them."""
    product_id = str(uuid.uuid4())
    cursor.execute(
        """
        INSERT INTO catalog_product (id, merchant_id, name, description, price, available_units, units_supplied,
                                     is_active, delivery_kind, created_at, updated_at)
        SELECT %s, user_id, 'Hot codes item', 'A benchmark product: one code per unit.', 1.00, %s, %s,
               true, 'CODES', now(), now()
        FROM bench_account WHERE kind = 'hot_merchant'
        """,
        [product_id, codes, codes],
    )
    # Encrypted and hashed by the app's own functions, under the keys the server runs with.
    with cursor.copy(
        "COPY delivery_code (id, product_id, status, ciphertext, lookup_hash, hint, created_at, updated_at) FROM STDIN"
    ) as copy:
        for n in range(codes):
            code = f"BENCH-{n:09d}-{uuid.uuid4().hex[:8]}"
            row = (uuid.uuid4(), product_id, "AVAILABLE", code_encrypt(code), code_lookup_hash(code), code_hint(code))
            copy.write_row((*row, "now", "now"))
    return product_id


# The ledger tables, loaded without their indexes and keys and given them back after:
# one sorted index build is far faster than two million random-UUID index inserts.
BULK_TABLES = ("wallets_journal", "wallets_ledgerentry")


def _drop_keys_and_indexes(cursor) -> list[str]:
    """Drop the keys, foreign keys and indexes of BULK_TABLES; return the statements that restore them."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.contype IN ('p', 'u', 'f')
          AND (c.conrelid::regclass::text = ANY(%s) OR c.confrelid::regclass::text = ANY(%s))
        """,
        [list(BULK_TABLES), list(BULK_TABLES)],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [list(BULK_TABLES)],
    )
    indexes = cursor.fetchall()
    # Foreign keys go first (they depend on the keys), and come back last.
    order = {"f": 0, "u": 1, "p": 2}
    for table, name, _kind, _definition in sorted(constraints, key=lambda row: order[row[2]]):
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    add = {
        kind: [
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            for table, name, k, definition in constraints
            if k == kind
        ]
        for kind in order
    }
    return [*add["p"], *add["u"], *(definition for _name, definition in indexes), *add["f"]]


def _history(cursor, *, entries: int) -> None:
    """Give the history wallet `entries` entries: odd sequences deposit 2.00, even ones withdraw 1.00."""
    cursor.execute("SELECT wallet_id FROM bench_account WHERE kind = 'history'")
    (wallet_id,) = cursor.fetchone()
    # Balance after entry i: 2 per deposit so far minus 1 per withdrawal so far.
    after = "(2 * ((i + 1) / 2) - i / 2)"
    before = "(2 * (i / 2) - (i - 1) / 2)"
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE bench_history ON COMMIT DROP AS
        SELECT i, gen_random_uuid() AS journal_id,
               CASE WHEN i %% 2 = 1 THEN 'DEPOSIT' ELSE 'WITHDRAWAL' END AS type,
               CASE WHEN i %% 2 = 1 THEN 2.00 ELSE -1.00 END AS amount,
               {before}::numeric(14, 2) AS balance_before, {after}::numeric(14, 2) AS balance_after,
               now() - (%s - i) * interval '1 second' AS created_at
        FROM generate_series(1, %s) i
        """,
        [entries, entries],
    )
    cursor.execute(
        "INSERT INTO wallets_journal (id, kind, description, created_at) "
        "SELECT journal_id, type, 'Bench history', created_at FROM bench_history"
    )
    cursor.execute(
        """
        INSERT INTO wallets_ledgerentry (id, journal_id, wallet_id, type, amount, balance_before, balance_after,
                                         sequence, description, created_at)
        SELECT gen_random_uuid(), journal_id, %s, type, amount, balance_before, balance_after, i,
               'Bench history', created_at
        FROM bench_history
        UNION ALL
        SELECT gen_random_uuid(), journal_id, %s, type, -amount, NULL, NULL, NULL, '', created_at
        FROM bench_history
        """,
        [wallet_id, SYSTEM_WALLET_IDS[WalletKind.EXTERNAL]],
    )
    balance = 2 * ((entries + 1) // 2) - entries // 2
    cursor.execute(
        "UPDATE wallets_wallet SET balance = %s, entry_count = %s WHERE id = %s", [balance, entries, wallet_id]
    )


def _write_tokens(path: Path, user_ids: list) -> None:
    users = {user.id: user for user in User.objects.filter(id__in=user_ids)}
    lines = []
    for user_id in user_ids:
        lines.append(token_pair_for(user=users[user_id]).access)
    path.write_text("\n".join(lines) + "\n")


def _ids(cursor, sql: str) -> list:
    cursor.execute(sql)
    return [row[0] for row in cursor.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--hot-buyers", type=int, default=2000)
    parser.add_argument("--spread-buyers", type=int, default=1000)
    parser.add_argument("--history-entries", type=int, default=1_000_000)
    parser.add_argument("--codes", type=int, default=100_000, help="codes in the CODES product's pool")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    started = monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        # Bulk load into tables nobody else uses yet: skip the per-row FK triggers (every
        # reference is built from rows inserted here) and the entries' immutability trigger
        # (it guards UPDATE/DELETE only). Needs a superuser, which the scratch database has.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(HELPER_TABLES)
        _accounts(cursor, hot_buyers=args.hot_buyers, spread_buyers=args.spread_buyers)
        _products(cursor, hot_buyers=args.hot_buyers, spread_buyers=args.spread_buyers)
        codes_product = _codes_product(cursor, codes=args.codes)
        restore = _drop_keys_and_indexes(cursor)
        _history(cursor, entries=args.history_entries)
        for statement in restore:
            cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        hot_buyers = _ids(cursor, "SELECT user_id FROM bench_buyer WHERE kind = 'hot_buyer' ORDER BY n")
        spread_buyers = _ids(cursor, "SELECT user_id FROM bench_buyer WHERE kind = 'spread_buyer' ORDER BY n")
        history_user = _ids(cursor, "SELECT user_id FROM bench_account WHERE kind = 'history'")
        hot_product = _ids(cursor, "SELECT product_id FROM bench_product WHERE n = 0")
        spread_products = _ids(cursor, "SELECT product_id FROM bench_product WHERE n > 0 ORDER BY n")
    seeded = monotonic() - started

    _write_tokens(args.out / "hot_tokens.txt", hot_buyers)
    _write_tokens(args.out / "spread_tokens.txt", spread_buyers)
    _write_tokens(args.out / "history_token.txt", history_user)
    (args.out / "hot_products.txt").write_text(f"{hot_product[0]}\n")
    (args.out / "codes_products.txt").write_text(f"{codes_product}\n")
    (args.out / "spread_products.txt").write_text("".join(f"{product_id}\n" for product_id in spread_products))
    summary = {
        "seconds": round(seeded, 1),
        "hot_buyers": len(hot_buyers),
        "spread_buyers": len(spread_buyers),
        "spread_products": len(spread_products),
        "history_entries": args.history_entries,
        "hot_product": str(hot_product[0]),
        "hot_stock": HOT_STOCK,
        "spread_stock": SPREAD_STOCK,
        "codes": args.codes,
    }
    (args.out / "seed.json").write_text(json.dumps(summary))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
