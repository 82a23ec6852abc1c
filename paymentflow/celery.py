"""The Celery app: background work (outbox events, Stripe events, schedules) for web, worker and beat.

Configured from Django's settings (the `CELERY_*` names in paymentflow/settings.py);
tasks are found in each installed app's `tasks.py`. The request id of the request
that queued a task travels in the message's headers and is put back in the
logging context while the task runs, so the worker's log lines carry it.
"""

import os

from celery import Celery, signals

from core.logging import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paymentflow.settings")

app = Celery("paymentflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "request_id"


@signals.before_task_publish.connect
def _send_request_id(*, headers: dict, **kwargs) -> None:
    request_id = request_id_var.get()
    if request_id and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id


@signals.task_prerun.connect
def _take_request_id(*, task, **kwargs) -> None:
    task.request._request_id_token = request_id_var.set(getattr(task.request, REQUEST_ID_HEADER, None))


@signals.task_postrun.connect
def _drop_request_id(*, task, **kwargs) -> None:
    token = getattr(task.request, "_request_id_token", None)
    if token is not None:
        request_id_var.reset(token)
