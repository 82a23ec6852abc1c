"""The cache of the embedded default: Django's database cache, on the same database as the data.

With no REDIS_URL every process of the machine (`make run`'s gunicorn workers,
management commands) must see one cache, or a product change would stay
invisible to the other workers and each would count its own login attempts.
Django's database cache is shared that way; its `add` is atomic (one
transaction), and `incr`, which the rate limits count with, is made atomic here.
"""

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


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
