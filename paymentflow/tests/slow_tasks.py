"""A test-only task that takes as long as it is told: loaded into the test worker with `--include`."""

import time

from celery import shared_task


@shared_task(name="tests.sleep")
def sleep(*, seconds: float) -> None:
    time.sleep(seconds)
