"""Orders: what was bought, at what price, how it was paid, and every status it went through."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Round

from core.money import MoneyField


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"
    EXPIRED = "EXPIRED", "Expired"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED", "Partially refunded"
    REFUNDED = "REFUNDED", "Refunded"


class PaymentMethod(models.TextChoices):
    WALLET = "WALLET", "Wallet"
    GATEWAY = "GATEWAY", "Card (gateway)"


# Orders whose units are out of stock: the reservation of a pending card payment,
# or a sale not wholly refunded. Failed, expired and refunded orders gave their units back.
UNIT_HOLDING_STATUSES = (OrderStatus.PENDING, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED)
# Orders paid for (a sale was booked), whatever was refunded of them since.
PAID_STATUSES = (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases")
    # Copied from the product at purchase: the merchant who is paid and may refund.
    merchant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="orders")
    product_name = models.CharField(max_length=200)
    unit_price = MoneyField()
    quantity = models.PositiveSmallIntegerField()
    total_amount = MoneyField()
    # The platform's share of total_amount, fixed at purchase time.
    fee_amount = MoneyField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=OrderStatus.choices)
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    # Card payments: the PaymentIntent that pays for this order, and until when the
    # reserved units wait for it.
    payment_provider = models.CharField(max_length=32, blank=True)
    payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    payment_client_secret = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("refund_order", "Can refund any order")]
        indexes = [
            models.Index(fields=["buyer", "-created_at"], name="order_buyer_created_idx"),
            models.Index(fields=["merchant", "-created_at"], name="order_merchant_created_idx"),
            models.Index(
                fields=["expires_at"],
                name="order_pending_expiry_idx",
                condition=models.Q(status="PENDING"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1, quantity__lte=100), name="order_quantity_1_100"),
            models.CheckConstraint(condition=models.Q(unit_price__gt=0), name="order_unit_price_positive"),
            models.CheckConstraint(
                # Rounded to the cent so SQLite's float comparison holds too (19.99 * 3 == 59.97).
                condition=models.Q(total_amount=Round(models.F("unit_price") * models.F("quantity"), 2)),
                name="order_total_is_price_times_quantity",
            ),
            models.CheckConstraint(
                condition=models.Q(fee_amount__gte=0, fee_amount__lte=models.F("total_amount")),
                name="order_fee_within_total",
            ),
            models.CheckConstraint(condition=models.Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(
                condition=models.Q(payment_method__in=PaymentMethod.values), name="order_payment_method_valid"
            ),
            models.CheckConstraint(condition=~models.Q(buyer=models.F("merchant")), name="order_not_own_product"),
        ]

    def __str__(self) -> str:
        return f"Order {self.id} ({self.status})"


class StatusChangeSource(models.TextChoices):
    API = "API", "API request"
    ADMIN = "ADMIN", "Back office"
    WEBHOOK = "WEBHOOK", "Payment webhook"
    COMMAND = "COMMAND", "Management command"


class OrderStatusChange(models.Model):
    """One step in an order's life: append-only, written by the services only."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=32, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=32, choices=OrderStatus.choices)
    source = models.CharField(max_length=16, choices=StatusChangeSource.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class RefundStatus(models.TextChoices):
    PENDING = "PENDING", "Pending (the gateway's answer is not known yet)"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class RefundKind(models.TextChoices):
    # Gives back (part of) a sale: a REFUND journal reverses its legs.
    SALE = "SALE", "Refund of a sale"
    # Returns a card payment that arrived after its order failed or expired:
    # no sale was booked, so no journal either.
    LATE_PAYMENT = "LATE_PAYMENT", "Return of a late card payment"


class Refund(models.Model):
    """Money given back for an order, and for card orders the state of the Stripe refund behind it.

    A card refund is a small state machine: recorded PENDING and committed, its
    id sent to Stripe as the refund's idempotency key and metadata, then settled
    SUCCEEDED (the journal posted) or FAILED under the locks. A PENDING one whose
    Stripe outcome is unknown is settled by a retry, by Stripe's event, or by
    `reconcile --gateway --fix`, exactly once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    kind = models.CharField(max_length=16, choices=RefundKind.choices, default=RefundKind.SALE)
    amount = MoneyField()
    # The part of `amount` that was the platform's fee, returned by the platform account.
    fee_amount = MoneyField(default=0)
    status = models.CharField(max_length=16, choices=RefundStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=16, choices=StatusChangeSource.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    # The Idempotency-Key of the request that asked for it: the same request sent again
    # (after a 502) finds this refund and resumes it instead of asking for another.
    request_key = models.CharField(max_length=255, blank=True)
    # Card orders: Stripe's refund, once Stripe has answered (or its event arrived).
    gateway_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(status="PENDING"), name="refund_pending_idx"),
            models.Index(
                fields=["order", "request_key"], condition=~models.Q(request_key=""), name="refund_request_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(fee_amount__gte=0, fee_amount__lte=models.F("amount")),
                name="refund_fee_within_amount",
            ),
            models.CheckConstraint(condition=models.Q(status__in=RefundStatus.values), name="refund_status_valid"),
            models.CheckConstraint(condition=models.Q(kind__in=RefundKind.values), name="refund_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(status="PENDING", settled_at__isnull=True)
                | (~models.Q(status="PENDING") & models.Q(settled_at__isnull=False)),
                name="refund_settled_iff_not_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.id} of {self.amount} ({self.status})"


class WebhookOutcome(models.TextChoices):
    RECEIVED = "RECEIVED", "Received, not processed yet"
    PROCESSED = "PROCESSED", "Processed"
    IGNORED = "IGNORED", "Ignored (type not handled)"
    FAILED = "FAILED", "Failed (can be reprocessed)"


class WebhookEvent(models.Model):
    """The payments webhook inbox: every verified event, stored once by its provider id."""

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=32, default="stripe")
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="webhook_events")
    outcome = models.CharField(max_length=16, choices=WebhookOutcome.choices, default=WebhookOutcome.RECEIVED)
    # What processing did or why it failed, for operators (never a stack trace).
    detail = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["outcome", "-received_at"], name="webhook_outcome_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
