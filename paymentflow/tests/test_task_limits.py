"""Task time limits: every task has one, and a real worker stops a task past it and goes on."""

import pytest

from orders.tasks import orders_expire_due_task
from paymentflow.celery import app
from paymentflow.tests.celery_worker import wait_for
from paymentflow.tests.slow_tasks import sleep


def test_every_task_has_a_soft_limit_below_a_hard_one():
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}

    assert tasks
    # A message carries the limits of the task as the queuing process bound it (from
    # CELERY_TASK_SOFT_TIME_LIMIT_SECONDS, or the task's own), and the worker applies them.
    for name, task in tasks.items():
        assert 0 < task.soft_time_limit < task.time_limit, name


@pytest.fixture
def celery_worker_include():
    return ("paymentflow.tests.slow_tasks",)


@pytest.mark.django_db(transaction=True)
def test_a_task_past_its_soft_time_limit_is_stopped_and_the_worker_takes_the_next(celery_worker):
    sleep.apply_async(kwargs={"seconds": 60}, soft_time_limit=1, time_limit=31)

    wait_for(lambda: "SoftTimeLimitExceeded" in celery_worker.log(), timeout=30, message="the soft limit fired")
    # Stopped and acknowledged (a task past its limit has failed), not given to a worker again.
    orders_expire_due_task.delay()
    wait_for(lambda: "orders.expire_due" in celery_worker.log() and "succeeded" in celery_worker.log(), timeout=30)
    assert celery_worker.log().count("Task tests.sleep[") == 2  # received, then failed: once
