"""How the API is served, everywhere: `make run`, the Procfile, the Dockerfile and compose.

gunicorn reads this file from the working directory (the repository root).
Every value can be overridden from the environment.

Threaded workers (gthread): a request that waits on Stripe holds one thread of
its worker, not the worker, and `core.gateway` lets only a few wait at once
(GATEWAY_MAX_CONCURRENT_CALLS per process), so a stalled gateway leaves every
other request its threads. Each thread keeps its own database connection:
workers x threads is the number of PostgreSQL connections one host uses.
"""

import os
import shutil
import tempfile

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Above the worst case of a Stripe call (about 15 s, core/gateway.py), so a slow
# gateway is answered with a 502 instead of a killed worker.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5

# One access line per request, the application's own (JSON, with the request id:
# core/middleware.py); gunicorn's would repeat it in another format.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/), so
# two servers on one host under one user would take each other's. Nothing here uses it.
control_socket_disable = True

# --- Metrics: one directory of samples per machine, shared by its processes -----
# prometheus_client's multiprocess mode: every process writes its samples to files in
# PROMETHEUS_MULTIPROC_DIR and a scrape sums them all (core/metrics.py), so counts are
# the machine's whatever worker answers the scrape, and survive a worker's restart.
# When the variable is set, the directory is shared with this machine's background
# workers (an order a Celery worker completes or expires is counted there too), so the
# server never empties it: a worker may be writing into it. Whoever starts the machine's
# processes empties it first (`make run` does; under compose, its `metrics-init`
# service). Unset, the server makes a fresh temporary one for its own workers, removed
# when it exits.
_metrics_dir_created = False


def on_starting(server):
    global _metrics_dir_created
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:
        os.makedirs(metrics_dir, exist_ok=True)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="paymentflow-metrics-")
        _metrics_dir_created = True


def child_exit(server, worker):
    # Imported here, not above: prometheus_client picks its value store when first
    # imported, and the workers (forked from this process) must pick it after
    # on_starting has set PROMETHEUS_MULTIPROC_DIR.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_dir_created:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
