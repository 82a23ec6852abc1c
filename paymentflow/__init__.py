# The Celery app is loaded with Django, so `transaction.on_commit` queues go through its configuration.
from paymentflow.celery import app as celery_app

__all__ = ["celery_app"]
