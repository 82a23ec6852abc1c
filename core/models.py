"""Cross-cutting models: idempotency keys (see `core.idempotency`), the outbox of domain events (`core.outbox`)."""

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key: claimed before the work, completed with its response.

    The unique (user, key) constraint is what makes a key single-use across
    processes; `token` fences the claim, so a request whose stale claim was
    taken over cannot complete (see `core.idempotency`).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_method = models.CharField(max_length=10)
    request_path = models.CharField(max_length=1024)
    # SHA-256 of the canonical JSON of the parsed request body.
    request_hash = models.CharField(max_length=64)
    token = models.CharField(max_length=64)
    locked_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.request_method} {self.request_path})"

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None


class OutboxEvent(models.Model):
    """A domain event, written in the transaction of the change it reports (see `core.outbox`).

    `published_at` is set, in one transaction with what its subscribers wrote,
    once every subscriber has handled it; until then the sweep publishes it again.
    `attempts` counts publications started (a killed worker's too); at
    `OUTBOX_MAX_ATTEMPTS` the event is dead: kept for operators, no longer swept.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    # The request that caused the change, so the worker's log lines carry its id.
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the sweep may publish it again: a little after the on-commit publication, or the backoff after a failure.
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The sweep's scan: only unpublished events, by due time.
            models.Index(
                fields=["next_attempt_at"], name="outbox_unpublished_due_idx", condition=models.Q(published_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
