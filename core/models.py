"""Cross-cutting models: idempotency keys (see `core.idempotency`)."""

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
