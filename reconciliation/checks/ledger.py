"""The ledger checks: wallets, journals and entries, each against the others.

The order, stock and gateway checks are in `reconciliation.checks.orders` and
`reconciliation.checks.gateway`; the rules all of them follow, in
`reconciliation.checks.base`.
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

from datetime import datetime
from decimal import Decimal

from django.db import connection

from reconciliation.checks.base import Findings, check, offenders, sql_cents


@check(
    name="wallet_balances",
    entity="wallet",
    description="user wallet balance = sum of its entries = its last entry's balance_after",
    windowed=False,
)
def check_wallet_balances(*, since: datetime | None = None) -> Findings:
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
    return offenders(sql=sql)


@check(name="ledger_sum", entity="ledger", description="all entries together sum to zero", windowed=False)
def check_ledger_sum(*, since: datetime | None = None) -> Findings:
    """All entries together sum to zero (whole ledger, whatever `since` is)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(amount), 0) FROM wallets_ledgerentry")
        (total,) = cursor.fetchone()
    total = Decimal(str(total)).quantize(Decimal("0.01"))
    if total == 0:
        return Findings(count=0)
    return Findings(count=1, detail=f"All entries sum to {total}, not 0.00.")


@check(
    name="journal_sums",
    entity="journal",
    description="every journal has two or more entries summing to zero",
    windowed=True,
)
def check_journal_sums(*, since: datetime | None = None) -> Findings:
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
    return offenders(sql=sql, since=since)


@check(
    name="negative_balances",
    entity="ledger_entry",
    description="no negative balance_after on a user wallet",
    windowed=True,
)
def check_negative_balances(*, since: datetime | None = None) -> Findings:
    """Entries of user wallets with a negative balance_after."""
    window = "AND e.created_at >= %(since)s" if since else ""
    sql = f"""
        SELECT e.id AS offender_id
        FROM wallets_ledgerentry e
        JOIN wallets_wallet w ON w.id = e.wallet_id
        WHERE w.kind = %(user_kind)s AND e.balance_after < 0 {window}
    """
    return offenders(sql=sql, since=since)


@check(
    name="balance_chains",
    entity="ledger_entry",
    description="per wallet, sequences 1, 2, 3 … and balance_before = previous balance_after",
    windowed=True,
)
def check_balance_chains(*, since: datetime | None = None) -> Findings:
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
    return offenders(sql=sql, since=since)
