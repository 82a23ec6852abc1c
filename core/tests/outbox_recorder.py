"""A test subscriber the worker loads (`--include`): it notes each event it handles in a file.

`OUTBOX_TEST_RECORD` names the file. While `<file>.block` exists the handler
waits between its "start" and "done" lines, so a test can kill the worker mid-task.
"""

import os
import time
from pathlib import Path

from core.models import OutboxEvent
from core.outbox import EventType, outbox_subscribe


def record(event: OutboxEvent) -> None:
    """Note the event's start, wait while blocked, note its end."""
    path = Path(os.environ["OUTBOX_TEST_RECORD"])
    with path.open("a") as lines:
        lines.write(f"start {event.id}\n")
    while path.with_suffix(".block").exists():
        time.sleep(0.05)
    with path.open("a") as lines:
        lines.write(f"done {event.id}\n")


if os.environ.get("OUTBOX_TEST_RECORD"):
    for event_type in EventType.values:
        outbox_subscribe(event_type=event_type, handler=record)
