"""What every check is made of: its declaration, its result, the SQL helpers and the snapshot they run in.

Each check is one set-based SQL statement (aggregates, window functions): the
database does the work, and only a count and the first EXAMPLE_LIMIT offending
ids ever reach Python, so memory stays flat however large the ledger grows.
Nothing here writes; `read_only_snapshot()` makes the database refuse writes
too. Written for PostgreSQL; the same statements run on SQLite (3.25+, for the
window functions), where money is compared in whole cents because SQLite keeps
decimals as floating point.
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, models, transaction

from wallets.models import EntryType, JournalKind, WalletKind

# How many offending ids a check reports; the count is always exact.
EXAMPLE_LIMIT = 10

# PostgreSQL memory per sort or hash of the checks (server side; the default is 4MB).
SNAPSHOT_WORK_MEM = "64MB"

# The ledger's labels as named SQL parameters, one spelling for every statement
# that reads or writes journals and entries: %(purchase_kind)s is
# JournalKind.PURCHASE, %(sale_reversal_type)s EntryType.SALE_REVERSAL,
# %(user_kind)s the user wallets' kind.
LEDGER_PARAMS: dict[str, str] = {
    **{f"{kind.name.lower()}_kind": kind.value for kind in JournalKind},
    **{f"{entry_type.name.lower()}_type": entry_type.value for entry_type in EntryType},
    "user_kind": WalletKind.USER.value,
}


@dataclass(frozen=True)
class Findings:
    """What a check's query found: how many offenders, the first few of their ids, and any words to add."""

    count: int
    examples: tuple[str, ...] = ()
    detail: str = ""


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
    """A named check. `run(since=…)`, or calling it, returns its CheckResult.

    `windowed` checks look only at rows created at or after `since` when one is
    given; the others always cover everything (a balance is a whole-wallet fact).
    """

    name: str
    entity: str
    description: str
    windowed: bool
    find: Callable[..., Findings] = field(repr=False)

    def run(self, *, since: datetime | None = None) -> CheckResult:
        findings = self.find(since=since)
        return CheckResult(
            name=self.name,
            entity=self.entity,
            count=findings.count,
            examples=findings.examples,
            detail=findings.detail,
        )

    def __call__(self, *, since: datetime | None = None) -> CheckResult:
        return self.run(since=since)


def check(*, name: str, entity: str, description: str, windowed: bool) -> Callable[[Callable[..., Findings]], Check]:
    """Declare the decorated function a Check: it finds the offenders, the declaration says what they are."""

    def declare(find: Callable[..., Findings]) -> Check:
        return Check(name=name, entity=entity, description=description, windowed=windowed, find=find)

    return declare


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


def offenders(*, sql: str, since: datetime | None = None, params: dict[str, Any] | None = None) -> Findings:
    """Count the rows of `sql` (one distinct column, `offender_id`) and fetch the first EXAMPLE_LIMIT of them.

    `sql` may name any LEDGER_PARAMS, and `%(since)s` when `since` is given,
    besides its own `params`. The count comes from a window over the whole
    result, computed in the database, so the number of rows fetched never
    exceeds the limit.
    """
    window = {"since": sql_datetime(since)} if since else {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT offender_id, COUNT(*) OVER () FROM ({sql}) AS offenders "
            "ORDER BY offender_id LIMIT %(example_limit)s",
            {**LEDGER_PARAMS, **window, **(params or {}), "example_limit": EXAMPLE_LIMIT},
        )
        rows = cursor.fetchall()
    return Findings(count=int(rows[0][1]) if rows else 0, examples=tuple(_as_id(row[0]) for row in rows))


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
