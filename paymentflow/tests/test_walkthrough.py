"""docs/walkthrough.sh, the API guide's walk-throughs, runs top to bottom and prints its stored transcript.

The app is served as `make run` serves it (gunicorn, 2 workers, a fresh
embedded SQLite database, the in-process cache, DEBUG off over plain http), on
a free port, and the script runs with bash as a reader runs it. Its output must
be docs/walkthrough.out once ids, times, the run's email tag and the port are
normalised; `make walkthrough` rewrites that file from a running `make run`.
The pages that show the walk-through (docs/walkthrough.md, docs/api.md) may
only quote the script and the transcript, so they cannot drift from what runs.
"""

import difflib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.tests.localstripe import STRIPE_TEST_SECRET_KEY, STRIPE_TEST_WEBHOOK_SECRET, LocalStripe
from paymentflow.tests.celery_worker import CeleryWorker
from paymentflow.tests.servers import gunicorn

BASE_DIR = Path(__file__).resolve().parents[2]
SCRIPT = BASE_DIR / "docs" / "walkthrough.sh"
TRANSCRIPT = BASE_DIR / "docs" / "walkthrough.out"
PAGES = [BASE_DIR / "docs" / "walkthrough.md", BASE_DIR / "docs" / "api.md"]

UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
PAYMENT_INTENT = re.compile(r"\bpi_\w+")
TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
RUN_TAG = re.compile(r"\.[0-9a-f]{8}@")
BASE_URL = re.compile(r"http://127\.0\.0\.1:\d+")


def normalise(text: str, *, numbered: bool = True) -> str:
    """Replace what differs between runs; ids are numbered by first appearance, so a reference still must match."""
    for pattern, name in ((UUID, "id"), (PAYMENT_INTENT, "pi")):
        seen: dict[str, str] = {}
        text = pattern.sub(
            lambda match, seen=seen, name=name: seen.setdefault(
                match.group(), f"<{name}{len(seen) + 1 if numbered else ''}>"
            ),
            text,
        )
    text = TIME.sub("<time>", text)
    text = RUN_TAG.sub(".<run>@", text)
    return BASE_URL.sub("<base-url>", text)


def steps(text: str) -> list[str]:
    """Split a transcript into its steps (each starts with a `## ` heading)."""
    return [part for part in re.split(r"^(?=## )", text, flags=re.MULTILINE) if part]


# What `make run` has that a developer's .env could change for the output: set
# explicitly, since the settings read BASE_DIR/.env for anything not in the environment.
MAKE_RUN_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "walkthrough-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DELIVERY_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWRlbGl2ZXJ5LWtleS0wMTIzNDU2Nzg=",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_COOKIES": "false",
    "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
    "API_PREFIX": "api/v1",
    "CURRENCY": "USD",
    "PLATFORM_FEE_PERCENT": "0",
    "AUTH_THROTTLE_RATE": "10/min",
    "REDIS_URL": "",
    "STRIPE_SECRET_KEY": "",
    "STRIPE_WEBHOOK_SECRET": "",
    "STRIPE_API_BASE": "",
    "WEB_CONCURRENCY": "2",
}


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory) -> Path:
    """A migrated embedded SQLite database, made once; each server gets a copy of it."""
    path = tmp_path_factory.mktemp("walkthrough") / "migrated.sqlite3"
    env = {
        "PATH": os.environ["PATH"],
        **MAKE_RUN_ENV,
        "DATABASE_URL": f"sqlite:///{path}",
        "BACKGROUND_DIR": str(path.parent / "var"),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    return path


@contextmanager
def serving(database: Path, tmp_path: Path, **settings: str) -> Iterator[str]:
    """Serve a fresh copy of `database` as `make run` does (web and a worker, no Redis); yield the base URL."""
    fresh = tmp_path / "db.sqlite3"
    shutil.copyfile(database, fresh)
    env = {
        **MAKE_RUN_ENV,
        **settings,
        "DATABASE_URL": f"sqlite:///{fresh}",
        # Its own filesystem queue, not the checkout's var/.
        "BACKGROUND_DIR": str(tmp_path / "var"),
    }
    worker = CeleryWorker(env=env, log_path=tmp_path / "worker.log")
    worker.start()
    try:
        with gunicorn(env=env, log_path=tmp_path / "gunicorn.log") as served:
            yield served.url
    finally:
        worker.stop()


def run_walkthrough(base_url: str, **env: str) -> str:
    """Run the script with bash as a reader would; return its output (it must exit 0)."""
    result = subprocess.run(  # noqa: S603
        ["bash", str(SCRIPT)],  # noqa: S607 (bash from PATH, as the docs run it)
        env={"PATH": os.environ["PATH"], "BASE_URL": base_url, **env},
        capture_output=True,
        encoding="utf-8",
        timeout=180,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr}\n{result.stdout[-3000:]}"
    return result.stdout


def test_the_walkthrough_prints_its_transcript(migrated_database, tmp_path):
    with serving(migrated_database, tmp_path) as base_url:
        output = run_walkthrough(base_url)

    expected, actual = normalise(TRANSCRIPT.read_text(encoding="utf-8")), normalise(output)
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True), "docs/walkthrough.out", "this run"
        )
    )
    assert actual == expected, f"the walk-through's output changed (`make walkthrough` rewrites it):\n{diff}"


def test_the_card_walkthrough_completes_an_order_through_localstripe(
    migrated_database, tmp_path, localstripe_server: LocalStripe
):
    stripe = {"STRIPE_SECRET_KEY": STRIPE_TEST_SECRET_KEY, "STRIPE_WEBHOOK_SECRET": STRIPE_TEST_WEBHOOK_SECRET}
    try:
        with serving(migrated_database, tmp_path, STRIPE_API_BASE=localstripe_server.url, **stripe) as base_url:
            output = run_walkthrough(base_url, LOCALSTRIPE_URL=localstripe_server.url, **stripe)
    finally:
        # localstripe cannot delete an endpoint: narrow the script's one to no event type.
        localstripe_server.register_webhook(
            endpoint_id="walkthrough",
            url="http://127.0.0.1:9/",
            secret=STRIPE_TEST_WEBHOOK_SECRET,
            events=["pytest.unregistered"],
        )

    without_card = steps(normalise(TRANSCRIPT.read_text(encoding="utf-8")))[:-1]
    card_run = steps(normalise(output))
    # The same walk-through up to the card order, which is paid here instead of refused.
    assert card_run[: len(without_card)] == without_card
    *_, created, paid, completed = card_run
    assert '"status": "PENDING"' in created
    assert "PaymentIntent: succeeded" in paid
    assert '"status": "COMPLETED"' in completed


def fenced_blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_pages_quote_the_script_and_its_transcript_verbatim(page):
    script = SCRIPT.read_text(encoding="utf-8")
    transcript = normalise(TRANSCRIPT.read_text(encoding="utf-8"), numbered=False)
    commands = [block for block in fenced_blocks(page, "bash") if "request " in block]
    outputs = fenced_blocks(page, "text")

    assert commands, f"{page.name} shows none of the walk-through's steps"
    for block in commands:
        assert block in script, f"{page.name}: a walk-through block that docs/walkthrough.sh lacks:\n{block}"
    for block in outputs:
        if block.startswith(("## ", "GET ", "POST ", "PATCH ")):
            shown = normalise(block, numbered=False)
            assert shown in transcript, f"{page.name}: output that is not in the transcript:\n{block}"
