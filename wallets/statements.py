"""A wallet's statement over whole UTC days: opening balance, every entry, closing balance, as CSV rows."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from wallets import selectors
from wallets.models import Wallet

STATEMENT_COLUMNS = ("date", "id", "type", "description", "orderId", "amount", "balanceAfter")
OPENING_BALANCE = "OPENING_BALANCE"
CLOSING_BALANCE = "CLOSING_BALANCE"
# Entries fetched per round trip while the statement streams.
CHUNK_SIZE = 2000


def day_start(day: date) -> datetime:
    """Return the first instant of `day` in UTC."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def statement_rows(*, wallet: Wallet, first_day: date, last_day: date) -> Iterator[tuple]:
    """Yield the header, the opening balance, each entry of first_day..last_day (inclusive, UTC), the closing balance.

    The opening balance is the balance after the last entry before `first_day`;
    each entry carries its own balance after, so the closing balance is the last
    one's (or the opening balance when the range has none): opening + the sum of
    the amounts == closing, the wallet's balance chain.
    """
    start, end = day_start(first_day), day_start(last_day + timedelta(days=1))
    balance = selectors.entry_balance_before(wallet=wallet, moment=start)
    yield STATEMENT_COLUMNS
    yield (first_day.isoformat(), "", OPENING_BALANCE, "", "", "", balance)
    for entry in selectors.entry_list_between(wallet=wallet, start=start, end=end).iterator(chunk_size=CHUNK_SIZE):
        balance = entry.balance_after
        yield (
            entry.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            entry.id,
            entry.type,
            entry.description,
            entry.order_id or "",
            entry.amount,
            entry.balance_after,
        )
    yield (last_day.isoformat(), "", CLOSING_BALANCE, "", "", "", balance)
