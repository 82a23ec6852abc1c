"""The Celery app: background work (outbox events, Stripe events, schedules) for web, worker and beat.

Configured from Django's settings (the `CELERY_*` names in paymentflow/settings.py);
tasks are found in each installed app's `tasks.py`. The request id of the request
that queued a task travels in the message's headers and is put back in the
logging context while the task runs, so the worker's log lines carry it.
"""

import os
from pathlib import Path

from celery import Celery, signals

from core.logging import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paymentflow.settings")

app = Celery("paymentflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "request_id"
_folders_made = False


def _make_background_folders() -> None:
    """Create BACKGROUND_DIR (beat's schedule) and the filesystem queue's folders, once per process."""
    global _folders_made
    if _folders_made:
        return
    from django.conf import settings

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for folder in (settings.BACKGROUND_DIR, options.get("data_folder_in"), options.get("control_folder")):
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
    _folders_made = True


@signals.import_modules.connect
def _before_worker_or_beat(**kwargs) -> None:
    # Sent by worker and beat as they load the tasks, before beat opens its schedule file.
    _make_background_folders()


@signals.before_task_publish.connect
def _send_request_id(*, headers: dict, **kwargs) -> None:
    _make_background_folders()  # The first message of a web process may be the first in the queue.
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
