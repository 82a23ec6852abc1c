"""Merchant webhook endpoints, their deliveries, and the emails the platform sends.

A delivery and an email are both small state machines driven by the worker:
`PENDING` (waiting for its `next_attempt_at`, or claimed by a worker until
`claimed_until`) → `SUCCEEDED`/`SENT`, or `FAILED` once the attempts run out.
Neither holds anything secret in clear besides the endpoint's signing secret
(see `WebhookEndpoint.secret`): a receipt's body is rendered when it is sent,
never stored, so a delivered code is not copied into this app's tables.
"""

import uuid

from django.conf import settings
from django.db import models

from core.outbox import EventType


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2048)
    # A list of EventType values (validated by the services): a JSON list, not a
    # table, as it is read whole with its endpoint and never queried by element.
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    # Kept in clear: every delivery is signed with it (HMAC needs the key itself, so a
    # hash would not do), and the process that could decrypt it is the one that reads
    # it. It is shown once, in the create answer, and never again (API, back offices).
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField(default=True)
    # Since when every attempt has failed (null after any success): what the
    # automatic disabling (WEBHOOK_DISABLE_AFTER_DAYS) measures.
    failing_since = models.DateTimeField(null=True, blank=True)
    # Set when the platform disabled it; a merchant's own disabling leaves it blank.
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merchant", "-created_at"], name="whendpoint_merchant_idx")]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint: its body is fixed when the event fans out, its attempts counted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=64, choices=EventType.choices)
    # The JSON body sent, `{id, type, createdAt, data}`, as of the event.
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on the attempt under way: no other worker sends it until then.
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # One delivery per (event, endpoint): a fan-out run twice adds nothing.
            models.UniqueConstraint(fields=["event_id", "endpoint"], name="whdelivery_one_per_event_endpoint"),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="whdelivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="whdelivery_endpoint_idx"),
            models.Index(fields=["next_attempt_at"], name="whdelivery_due_idx", condition=models.Q(status="PENDING")),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class EmailKind(models.TextChoices):
    RECEIPT = "RECEIPT", "Buyer's receipt"
    SALE_NOTICE = "SALE_NOTICE", "Merchant's sale notification"
    ENDPOINT_DISABLED = "ENDPOINT_DISABLED", "Webhook endpoint disabled"


class EmailStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SENT = "SENT", "Sent"
    FAILED = "FAILED", "Failed"


class OutgoingEmail(models.Model):
    """An email to send once: what it is about, to whom, and how sending it went."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=EmailKind.choices)
    # What it is about: an order (receipt, sale notice) or an endpoint (disabled).
    subject_id = models.UUIDField()
    # What makes it this one email: `receipt:<order id>`, `sale:<order id>`,
    # `endpoint-disabled:<endpoint id>:<when>`. An event handled twice mails once.
    dedupe_key = models.CharField(max_length=200, unique=True)
    recipient = models.EmailField()
    status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=EmailStatus.values), name="email_status_valid"),
            models.CheckConstraint(condition=models.Q(kind__in=EmailKind.values), name="email_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="email_due_idx", condition=models.Q(status="PENDING")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"


class NotificationPreference(models.Model):
    """A merchant's choices about the mail it gets (a row only once it has chosen)."""

    merchant = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_preference"
    )
    # Opt-in: an email for every completed sale of one of its products.
    sale_emails = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notification preferences of {self.merchant_id}"
