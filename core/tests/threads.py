"""The one race helper of the suite: real threads released together, each on its own connection."""

import threading
from collections.abc import Callable
from typing import Any

# PostgreSQL allows 100 connections: keep room for the test's own connection and
# for other test processes on the machine.
MAX_THREADS = 32


def run_together(count: int, work: Callable[[int], Any], *, max_threads: int = MAX_THREADS) -> list[Any]:
    """Run `work(i)` for i in range(count) from threads released at once; return each result or exception.

    With more calls than `max_threads`, each thread runs its share back to back
    after the common start, so the race stays as tight as the connection limit
    allows. Results are in the order of `i`.
    """
    from django.db import connection

    workers = min(count, max_threads)
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * count

    def worker(first: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(first, count, workers):
                try:
                    results[i] = work(i)
                except BaseException as exc:
                    results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return results
