"""Queueing background tasks from a request or a service without ever failing it for the broker's sake."""

import logging

from celery import Task, current_app
from django.db import transaction
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


def task_enqueue_by_name(name: str, **kwargs) -> bool:
    """Queue the registered task `name` as `task_enqueue` does.

    By name, so a service need not import the tasks module that imports it. A web
    process imports the apps' tasks modules only here, once, the first time a
    name is not registered yet (a worker imports them all at start).
    """
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return task_enqueue(current_app.tasks[name], **kwargs)


def task_enqueue_on_commit(name: str, **kwargs) -> None:
    """Queue task `name` (ids as strings) once the current transaction commits; never fail that commit.

    robust: a broker that cannot be reached is only logged; the row the task
    works on stays due and its periodic sweep queues it again.
    """
    arguments = {key: str(value) for key, value in kwargs.items()}
    transaction.on_commit(lambda: task_enqueue_by_name(name, **arguments), robust=True)
