"""Serve the project from gunicorn, as production and `make run` do, for the tests that need real processes."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
API = "/api/v1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Served:
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def database_environment() -> dict[str, str]:
    """The environment that points a server at the test database and Redis of this test run."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    return {
        "DATABASE_URL": f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "paymentflow-test"),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DELIVERY_ENCRYPTION_KEYS": ",".join(settings.DELIVERY_ENCRYPTION_KEYS),
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "BACKGROUND_DIR": str(settings.BACKGROUND_DIR),
    }


@contextmanager
def gunicorn(*, env: dict[str, str], log_path: Path, app: str = "paymentflow.wsgi", args=()) -> Iterator[Served]:
    """Run `gunicorn app` with the project's gunicorn.conf.py on a free port until the block ends.

    `env` is the whole environment of the server besides PATH and PORT: DEBUG off
    and plain http on 127.0.0.1 unless it says otherwise.
    """
    port = free_port()
    full_env = {
        "PATH": os.environ["PATH"],
        "PORT": str(port),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        **env,
    }
    log = open(log_path, "wb")  # noqa: SIM115 (closed below, after the process)
    process = subprocess.Popen(  # noqa: S603 (our interpreter, our app, loopback)
        [sys.executable, "-m", "gunicorn", app, *args], cwd=BASE_DIR, env=full_env, stdout=log, stderr=log
    )
    served = Served(url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, served.log()
            try:
                with urllib.request.urlopen(f"{served.url}{API}/health", timeout=2):  # noqa: S310 (loopback)
                    break
            except OSError:
                assert time.monotonic() < deadline, served.log()
                time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
