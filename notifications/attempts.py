"""What webhook deliveries and emails share: claiming an attempt, and which rows are due (the backoff is core.retries').

A claim is one conditional UPDATE on the row's own table: it succeeds for one
worker only (PostgreSQL re-checks the WHERE on the row it waited for), counts
the attempt, and holds the row until `claimed_until`. A worker killed in the
middle leaves a claim that simply expires; the periodic sweep then finds the row
due again. So two workers never send the same attempt at once, and nothing is
lost with a worker.
"""

from datetime import datetime, timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

PENDING = "PENDING"


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
