"""What webhook deliveries and emails share: claiming an attempt, which rows are due, and what a failure leaves.

A claim is one conditional UPDATE on the row's own table: it succeeds for one
worker only (PostgreSQL re-checks the WHERE on the row it waited for), counts
the attempt, and holds the row until `claimed_until`. A worker killed in the
middle leaves a claim that simply expires; the periodic sweep then finds the row
due again. So two workers never send the same attempt at once, and nothing is
lost with a worker. A failed attempt leaves the row due again after the
backoff (core.retries'), or FAILED once its attempts are spent.
"""

from datetime import datetime, timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.retries import backoff_delay

PENDING = "PENDING"
FAILED = "FAILED"


def attempt_claim(*, model: type[models.Model], pk, lease_seconds: float) -> bool:
    """Claim the next attempt of a due, unclaimed PENDING row for this worker; True if it is ours."""
    now = timezone.now()
    return (
        model.objects.filter(due_q(now=now), pk=pk).update(
            attempts=F("attempts") + 1, claimed_until=now + timedelta(seconds=lease_seconds), updated_at=now
        )
        == 1
    )


def due_q(*, now: datetime) -> Q:
    """Rows whose next attempt is due and that no worker holds: what a claim and the sweep look for."""
    return Q(status=PENDING, next_attempt_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def attempt_failed(
    row: models.Model, *, max_attempts: int, base_seconds: float, cap_seconds: float | None = None, now: datetime
) -> None:
    """Set a locked row after its attempt failed: FAILED once `max_attempts` are spent, else due after the backoff.

    Its `attempts` already counts the one that failed (the claim counted it);
    the caller saves the row. Beat's sweep sends it again once it is due.
    """
    if row.attempts >= max_attempts:
        row.status, row.next_attempt_at = FAILED, None
    else:
        row.next_attempt_at = now + backoff_delay(
            base_seconds=base_seconds, attempts=row.attempts, cap_seconds=cap_seconds
        )
