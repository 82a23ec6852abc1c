"""When a failed piece of background work is due again: one exponential backoff for every retry loop.

The outbox's publications, merchant webhook deliveries and emails all wait the
same way after a failure: a base delay, doubling with each attempt, up to a cap.
"""

from datetime import timedelta


def backoff_delay(*, base_seconds: float, attempts: int, cap_seconds: float | None = None) -> timedelta:
    """Return the wait after the `attempts`-th failed attempt: base, then doubling."""
    seconds = base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, cap_seconds) if cap_seconds is not None else seconds)
