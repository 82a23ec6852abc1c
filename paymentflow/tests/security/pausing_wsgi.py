"""A test-only gunicorn entry point: the real application, frozen once inside a money movement.

test_faults.py runs `gunicorn paymentflow.tests.security.pausing_wsgi:application`
to kill a worker at a known point. The first request with an Idempotency-Key
that reaches its completion step (its claim committed, its money moved, its
transaction still open) writes the worker's pid to $PAUSE_FILE and sleeps, so
the test can SIGKILL that worker exactly there. Later requests run normally.
"""

import os
import time

from paymentflow.wsgi import application

# isort: split
# Imported after the WSGI application, which has loaded Django's app registry for its models.
from core import idempotency

_complete = idempotency._complete


def _complete_after_a_pause(claim, **kwargs):
    pause_file = os.environ["PAUSE_FILE"]
    if not os.path.exists(pause_file):
        with open(pause_file, "w") as marker:
            marker.write(str(os.getpid()))
        time.sleep(120)
    return _complete(claim, **kwargs)


idempotency._complete = _complete_after_a_pause

__all__ = ["application"]
