"""A real Celery worker for the tests: `celery -A paymentflow worker` in a subprocess, on the test database and Redis.

Not eager mode and not an in-process test worker: messages go through the
broker, tasks run in another process with their own database connections, as
in production. A pytest plugin (registered in the root conftest.py)::

    @pytest.mark.django_db(transaction=True)   # the worker must see committed rows
    def test_something(celery_worker):
        ...                                     # commit a change that queues a task
        wait_for(lambda: Thing.objects.filter(done=True).exists(), message="the task ran")

`celery_worker.kill()` SIGKILLs the worker with its pool processes (a machine
that dies mid-task); `celery_worker.start()` starts it again. Override the
`celery_worker_env` fixture to add variables, `celery_worker_include` to load
test-only task or subscriber modules.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from paymentflow.tests.servers import BASE_DIR, database_environment


def wait_for(
    condition: Callable[[], object], *, timeout: float = 30, interval: float = 0.1, message: str = ""
) -> object:
    """Poll `condition` until it returns something truthy, and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout} s waiting for {message or condition}")
        time.sleep(interval)


class CeleryWorker:
    """One worker process (prefork pool, one child) that can be killed and started again."""

    def __init__(self, *, env: dict[str, str], log_path: Path, include: tuple[str, ...] = ()):
        self.env = {
            "PATH": os.environ["PATH"],
            "DJANGO_DEBUG": "false",
            "LOG_FORMAT": "plain",
            **env,
        }
        self.log_path = log_path
        self.include = include
        self.process: subprocess.Popen | None = None
        self._log_file = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, *, timeout: float = 60) -> None:
        """Start the worker and wait until it consumes from the queue."""
        assert self.process is None, "the worker is running"
        offset = len(self.log())
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed when the process ends)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "paymentflow",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
            # No broadcast chatter with other workers that may share the broker.
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
        if self.include:
            command.append(f"--include={','.join(self.include)}")
        # A session of its own: kill() takes the pool's child processes with it.
        self.process = subprocess.Popen(  # noqa: S603 (our interpreter, our app)
            command, cwd=BASE_DIR, env=self.env, stdout=self._log_file, stderr=self._log_file, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while " ready." not in self.log()[offset:]:
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the worker and its pool: nothing is acknowledged or cleaned up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        """Stop the worker as a deployment does (SIGTERM: finish the running task, then exit)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._reap()

    def _reap(self) -> None:
        self.process.wait()
        self.process = None
        self._log_file.close()


@pytest.fixture
def celery_worker_env() -> dict[str, str]:
    """Extra environment for the test worker (override in a test module)."""
    return {}


@pytest.fixture
def celery_worker_include() -> tuple[str, ...]:
    """Extra modules the test worker imports at start (override in a test module)."""
    return ()


@pytest.fixture
def celery_worker(transactional_db, tmp_path, celery_worker_env, celery_worker_include) -> Iterator[CeleryWorker]:
    """A running worker on this test run's database and broker; stopped after the test."""
    from paymentflow.celery import app

    # Messages left in the queue by earlier tests (their rows are gone) would only slow this one down.
    app.control.purge()
    worker = CeleryWorker(
        env={**database_environment(), **celery_worker_env},
        log_path=tmp_path / "celery-worker.log",
        include=celery_worker_include,
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
