"""A guard for the functions that only make sense inside their caller's transaction."""

from django.db import transaction


def atomic_required(reason: str) -> None:
    """Raise RuntimeError(`reason`) unless the default connection is inside `transaction.atomic()`.

    For writes whose guarantee comes from the caller's transaction (its locks, or
    its rollback taking them along): outside one they would commit on their own.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(reason)
