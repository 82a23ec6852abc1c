"""Checks that prove the ledger balances, run by `manage.py reconcile`.

Each check is one set-based SQL statement (aggregates, window functions): the
database does the work, and only a count and the first EXAMPLE_LIMIT offending
ids ever reach Python, so memory stays flat however large the ledger grows.
Nothing here writes; `read_only_snapshot()` makes the database refuse writes
too. Written for PostgreSQL; the same statements run on SQLite (3.25+, for the
window functions), where money is compared in whole cents because SQLite keeps
decimals as floating point.

The checks here look at wallets, journals and entries only (wallets never
imports orders); the order, stock and gateway checks live in
`orders.reconciliation`.
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection, models, transaction

from wallets.models import WalletKind

# How many offending ids a check reports; the count is always exact.
EXAMPLE_LIMIT = 10

# PostgreSQL memory per sort or hash of the checks (server side; the default is 4MB).
SNAPSHOT_WORK_MEM = "64MB"


@dataclass(frozen=True)
class CheckResult:
    """What one check found: how many offenders, and the first few ids (`entity` says of what)."""

    name: str
    entity: str
    count: int
    examples: tuple[str, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.count == 0


@dataclass(frozen=True)
class Check:
    """A named check. `run(since=…)` returns its CheckResult.

    `windowed` checks look only at rows created at or after `since` when one is
    given; the others always cover everything (a balance is a whole-wallet fact).
    """

    name: str
    entity: str
    description: str
    windowed: bool
    run: Callable[..., CheckResult] = field(repr=False)


def sql_cents(expression: str) -> str:
    """Return SQL for a money expression that compares exactly on this database."""
    if connection.vendor == "sqlite":
        return f"CAST(ROUND(({expression}) * 100) AS INTEGER)"
    return f"({expression})"


def sql_uuid(value: UUID) -> Any:
    """Return a UUID as this database stores it (a uuid on PostgreSQL, 32 hex digits on SQLite)."""
    return models.UUIDField().get_db_prep_value(value, connection)


def sql_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _as_id(value: Any) -> str:
    # SQLite hands UUIDs back as 32 hex digits; show them as PostgreSQL does.
    if isinstance(value, str) and len(value) == 32:
        try:
            return str(UUID(value))
        except ValueError:
            return value
    return str(value)


def offenders(*, name: str, entity: str, sql: str, params: dict[str, Any] | None = None) -> CheckResult:
    """Count the rows of `sql` (one distinct column, `offender_id`) and fetch the first EXAMPLE_LIMIT of them.

    The count comes from a window over the whole result, computed in the
    database, so the number of rows fetched never exceeds the limit.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT offender_id, COUNT(*) OVER () FROM ({sql}) AS offenders "
            "ORDER BY offender_id LIMIT %(example_limit)s",
            {**(params or {}), "example_limit": EXAMPLE_LIMIT},
        )
        rows = cursor.fetchall()
    return CheckResult(
        name=name,
        entity=entity,
        count=int(rows[0][1]) if rows else 0,
        examples=tuple(_as_id(row[0]) for row in rows),
    )


@contextmanager
def read_only_snapshot() -> Iterator[None]:
    """Run the block in one REPEATABLE READ, READ ONLY transaction on PostgreSQL.

    Every check then sees the books at the same instant (a purchase committing
    half-way through a run cannot show up in one check and not in the next),
    and the database itself refuses any write. Inside an outer transaction
    (the test suite's) the isolation level can no longer be set, so the block
    simply joins it.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # The per-journal and per-order aggregates hash a few hundred
                # thousand groups on a large ledger: in memory, not spilled to disk.
                cursor.execute("SET LOCAL work_mem = %s", [SNAPSHOT_WORK_MEM])
        yield


def check_wallet_balances(*, since: datetime | None = None) -> CheckResult:
    """User wallets whose balance differs from the sum of their entries or their last entry's balance_after.

    Also flags an entry count that is not the last sequence, and a system
    account whose balance column is not 0 (their balance is their entries' sum).
    Always whole-wallet, whatever `since` is.
    """
    sql = f"""
        SELECT w.id AS offender_id
        FROM wallets_wallet w
        LEFT JOIN (
            SELECT wallet_id, SUM(amount) AS total, MAX(sequence) AS last_sequence
            FROM wallets_ledgerentry
            GROUP BY wallet_id
        ) sums ON sums.wallet_id = w.id
        LEFT JOIN wallets_ledgerentry last_entry
            ON last_entry.wallet_id = w.id AND last_entry.sequence = sums.last_sequence
        WHERE (
            w.kind = %(user_kind)s AND (
                {sql_cents("w.balance")} <> {sql_cents("COALESCE(sums.total, 0)")}
                OR {sql_cents("w.balance")} <> {sql_cents("COALESCE(last_entry.balance_after, 0)")}
                OR w.entry_count <> COALESCE(sums.last_sequence, 0)
            )
        ) OR (w.kind <> %(user_kind)s AND ({sql_cents("w.balance")} <> 0 OR w.entry_count <> 0))
    """
    return offenders(name="wallet_balances", entity="wallet", sql=sql, params={"user_kind": WalletKind.USER})


def check_ledger_sum(*, since: datetime | None = None) -> CheckResult:
    """All entries together sum to zero (whole ledger, whatever `since` is)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(amount), 0) FROM wallets_ledgerentry")
        (total,) = cursor.fetchone()
    total = Decimal(str(total)).quantize(Decimal("0.01"))
    if total == 0:
        return CheckResult(name="ledger_sum", entity="ledger", count=0)
    return CheckResult(name="ledger_sum", entity="ledger", count=1, detail=f"All entries sum to {total}, not 0.00.")


def check_journal_sums(*, since: datetime | None = None) -> CheckResult:
    """Journals whose entries do not sum to zero, or that have fewer than two entries."""
    journal_window = "AND j.created_at >= %(since)s" if since else ""
    entry_window = "WHERE journal_id IN (SELECT id FROM wallets_journal WHERE created_at >= %(since)s)" if since else ""
    sql = f"""
        SELECT j.id AS offender_id
        FROM wallets_journal j
        LEFT JOIN (
            SELECT journal_id, COUNT(*) AS legs, SUM(amount) AS total
            FROM wallets_ledgerentry
            {entry_window}
            GROUP BY journal_id
        ) sums ON sums.journal_id = j.id
        WHERE (COALESCE(sums.legs, 0) < 2 OR {sql_cents("sums.total")} <> 0) {journal_window}
    """
    return offenders(name="journal_sums", entity="journal", sql=sql, params=_since_params(since))


def check_negative_balances(*, since: datetime | None = None) -> CheckResult:
    """Entries of user wallets with a negative balance_after."""
    window = "AND e.created_at >= %(since)s" if since else ""
    sql = f"""
        SELECT e.id AS offender_id
        FROM wallets_ledgerentry e
        JOIN wallets_wallet w ON w.id = e.wallet_id
        WHERE w.kind = %(user_kind)s AND e.balance_after < 0 {window}
    """
    return offenders(
        name="negative_balances",
        entity="ledger_entry",
        sql=sql,
        params={"user_kind": WalletKind.USER, **_since_params(since)},
    )


def check_balance_chains(*, since: datetime | None = None) -> CheckResult:
    """User-wallet entries that break their wallet's chain.

    Per wallet, ordered by sequence: sequences run 1, 2, 3 … without a gap,
    the first entry starts from 0.00, each entry's balance_before is the
    previous entry's balance_after, and balance_after = balance_before + amount.
    With `since`, only entries created since are judged, each against the
    entry just before it (which may be older).
    """
    if since:
        # The first sequence each wallet wrote inside the window; the chain is
        # read from the entry just before it.
        scope_cte = """
            WITH window_start AS (
                SELECT wallet_id, MIN(sequence) AS first_sequence
                FROM wallets_ledgerentry
                WHERE created_at >= %(since)s AND sequence IS NOT NULL
                GROUP BY wallet_id
            )
        """
        scope_join = "LEFT JOIN window_start ws ON ws.wallet_id = e.wallet_id"
        scope_where = "AND (e.sequence >= ws.first_sequence - 1 OR (e.sequence IS NULL AND e.created_at >= %(since)s))"
        judged = "AND (sequence IS NULL OR sequence >= first_sequence)"
        first_sequence = "ws.first_sequence"
    else:
        scope_cte = scope_join = scope_where = judged = ""
        first_sequence = "NULL"
    sql = f"""
        {scope_cte}
        SELECT id AS offender_id FROM (
            SELECT
                e.id, e.sequence, e.amount, e.balance_before, e.balance_after,
                {first_sequence} AS first_sequence,
                LAG(e.sequence) OVER chain AS previous_sequence,
                LAG(e.balance_after) OVER chain AS previous_balance_after
            FROM wallets_ledgerentry e
            JOIN wallets_wallet w ON w.id = e.wallet_id AND w.kind = %(user_kind)s
            {scope_join}
            WHERE TRUE {scope_where}
            WINDOW chain AS (PARTITION BY e.wallet_id ORDER BY e.sequence NULLS LAST)
        ) chained
        WHERE (
            sequence IS NULL OR balance_before IS NULL OR balance_after IS NULL
            OR {sql_cents("balance_after")} <> {sql_cents("balance_before + amount")}
            OR (previous_sequence IS NULL AND (sequence <> 1 OR {sql_cents("balance_before")} <> 0))
            OR (
                previous_sequence IS NOT NULL AND (
                    sequence <> previous_sequence + 1
                    OR {sql_cents("balance_before")} <> {sql_cents("previous_balance_after")}
                )
            )
        ) {judged}
    """
    return offenders(
        name="balance_chains",
        entity="ledger_entry",
        sql=sql,
        params={"user_kind": WalletKind.USER, **_since_params(since)},
    )


def _since_params(since: datetime | None) -> dict[str, Any]:
    return {"since": sql_datetime(since)} if since else {}


LEDGER_CHECKS: tuple[Check, ...] = (
    Check(
        name="wallet_balances",
        entity="wallet",
        description="user wallet balance = sum of its entries = its last entry's balance_after",
        windowed=False,
        run=check_wallet_balances,
    ),
    Check(
        name="ledger_sum",
        entity="ledger",
        description="all entries together sum to zero",
        windowed=False,
        run=check_ledger_sum,
    ),
    Check(
        name="journal_sums",
        entity="journal",
        description="every journal has two or more entries summing to zero",
        windowed=True,
        run=check_journal_sums,
    ),
    Check(
        name="negative_balances",
        entity="ledger_entry",
        description="no negative balance_after on a user wallet",
        windowed=True,
        run=check_negative_balances,
    ),
    Check(
        name="balance_chains",
        entity="ledger_entry",
        description="per wallet, sequences 1, 2, 3 … and balance_before = previous balance_after",
        windowed=True,
        run=check_balance_chains,
    ),
)
