"""The cache's kernel: the embedded default's shared database cache, and writes batched after commit.

The embedded default: Django's database cache, on the same database as the data.

With no REDIS_URL every process of the machine (`make run`'s gunicorn workers,
management commands) must see one cache, or a product change would stay
invisible to the other workers and each would count its own login attempts.
Django's database cache is shared that way; its `add` is atomic (one
transaction), and `incr`, which the rate limits count with, is made atomic here.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django_redis.cache import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("paymentflow.cache")


class SharedDatabaseCache(DatabaseCache):
    """Django's database cache, with `incr` read and written in one locked transaction."""

    def incr(self, key, delta=1, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        with transaction.atomic(using=db):
            # SQLite takes the database's write lock as the transaction begins (the
            # settings make every transaction BEGIN IMMEDIATE); elsewhere the row is locked.
            if connection.features.has_select_for_update:
                with connection.cursor() as cursor:
                    table = connection.ops.quote_name(self._table)
                    cursor.execute(
                        f"SELECT cache_key FROM {table} WHERE cache_key = %s FOR UPDATE",  # noqa: S608
                        [self.make_and_validate_key(key, version=version)],
                    )
            return super().incr(key, delta, version)


# --- Writes after commit, in one round trip ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Write:
    key: str
    value: Any
    timeout: int | None
    only_if_absent: bool
    then: Callable[[bool | None], None] | None


_pending = threading.local()


def cache_write_on_commit(
    *,
    key: str,
    value: Any,
    timeout: int | None = None,
    only_if_absent: bool = False,
    then: Callable[[bool | None], None] | None = None,
) -> None:
    """Write `key` once the current transaction commits (at once outside one), with that commit's other writes.

    All the writes queued for one commit go to Redis in one pipelined round trip
    (a purchase replaces two catalogue stamps and wakes the outbox drain: one
    round trip instead of two, about a tenth of its worker CPU). `timeout` in
    seconds, None for no expiry; `only_if_absent` writes only a missing key (SET NX).
    `then(result)` runs afterwards with True (written), False (`only_if_absent`
    and the key existed) or None (the cache could not be reached: logged, never
    raised, as the cache is an optimisation).

    Only for writes that are harmless when sent needlessly, like a new random
    stamp or a wake-up: one queued in a savepoint that rolled back still goes
    out with its transaction's commit (a rolled-back transaction sends nothing).
    """
    connection = transaction.get_connection()
    # The transaction the writes wait for (its outermost block); None outside one, where they go at once.
    owner = connection.atomic_blocks[0] if connection.in_atomic_block else None
    if getattr(_pending, "owner", None) is not owner:
        # Whatever is still queued belongs to a transaction that rolled back: it must not go out.
        _pending.owner, _pending.writes = owner, []
    _pending.writes.append(_Write(key, value, timeout, only_if_absent, then))
    # One hook per write: the first to run sends them all; a savepoint rolled back takes only its own hook.
    transaction.on_commit(_send_pending, robust=True)


def _send_pending() -> None:
    writes = getattr(_pending, "writes", None)
    if not writes:
        return
    _pending.owner, _pending.writes = None, []
    for write, result in zip(writes, _send(writes), strict=True):
        if write.then is not None:
            try:
                write.then(result)
            except Exception:
                logger.exception("After writing %s to the cache", write.key)


def _send(writes: list[_Write]) -> list[bool | None]:
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        # The embedded database cache: one write after the other (no round trip to save).
        return [
            backend.add(write.key, write.value, timeout=write.timeout)
            if write.only_if_absent
            else backend.set(write.key, write.value, timeout=write.timeout) or True
            for write in writes
        ]
    client = backend.client
    try:
        pipeline = client.get_client(write=True).pipeline(transaction=False)
        for write in writes:
            pipeline.set(
                client.make_key(write.key),
                client.encode(write.value),
                nx=write.only_if_absent,
                px=None if write.timeout is None else int(write.timeout * 1000),
            )
        return [bool(result) for result in pipeline.execute()]
    except (RedisError, OSError) as exc:
        # As django-redis does for the other writes (IGNORE_EXCEPTIONS): logged, not raised.
        logger.warning("Cache writes after commit not sent: %s", exc)
        return [None] * len(writes)
