"""Queueing background tasks from a request or a service without ever failing it for the broker's sake."""

import logging

from celery import Task
from kombu.exceptions import OperationalError

logger = logging.getLogger("paymentflow.queue")


def task_enqueue(task: Task, **kwargs) -> bool:
    """Queue `task(**kwargs)`; return False if the broker could not be reached (a sweep queues it later).

    For work whose state is a row that a periodic sweep finds again: what was
    not queued now is late, never lost.
    """
    try:
        task.apply_async(kwargs=kwargs)
    except (OperationalError, OSError) as exc:
        logger.warning("%s(%s) not queued (%s): the sweep will queue it.", task.name, kwargs, exc)
        return False
    return True
