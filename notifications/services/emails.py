"""Emails the platform sends: receipts, merchants' sale notices, endpoint-disabled notices.

Each is a row first (`OutgoingEmail`, unique per `dedupe_key`), written in the
transaction that decided it, then sent by the worker. A mail server that is
down fails the attempt, never the order: the email is due again after a
backoff (EMAIL_RETRY_BASE_SECONDS, doubling, at most an hour apart) and is
FAILED, for the operators to see, only after EMAIL_MAX_ATTEMPTS.
"""

import logging
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.queue import task_enqueue_on_commit
from notifications.attempts import attempt_claim, attempt_failed
from notifications.locks import email_lock
from notifications.messages import email_render
from notifications.models import EmailKind, EmailStatus, NotificationPreference, OutgoingEmail
from notifications.queue import SEND_EMAIL
from notifications.selectors import merchant_wants_sale_emails
from orders.models import Order

logger = logging.getLogger("paymentflow.emails")

# An email still undelivered after this many attempts (about a day with the defaults) is FAILED.
EMAIL_MAX_ATTEMPTS = 12
EMAIL_RETRY_CAP_SECONDS = 3600


def email_create(*, kind: str, subject_id: UUID, recipient: str, dedupe_key: str) -> OutgoingEmail | None:
    """Queue one email; None if the same one (`dedupe_key`) was queued before."""
    try:
        with transaction.atomic():
            email = OutgoingEmail.objects.create(
                kind=kind,
                subject_id=subject_id,
                recipient=recipient,
                dedupe_key=dedupe_key,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        return None
    task_enqueue_on_commit(SEND_EMAIL, email_id=email.pk)
    return email


@transaction.atomic
def emails_for_completed_order(*, order_id: UUID) -> list[OutgoingEmail]:
    """Queue the buyer's receipt, and the merchant's sale notice if it opted in."""
    order = Order.objects.select_related("buyer", "merchant").get(pk=order_id)
    wanted = [(EmailKind.RECEIPT, order.buyer.email, f"receipt:{order.pk}")]
    if merchant_wants_sale_emails(merchant_id=order.merchant_id):
        wanted.append((EmailKind.SALE_NOTICE, order.merchant.email, f"sale:{order.pk}"))
    queued = [
        email_create(kind=kind, subject_id=order.pk, recipient=recipient, dedupe_key=key)
        for kind, recipient, key in wanted
    ]
    return [email for email in queued if email is not None]


def email_send(*, email_id: UUID) -> OutgoingEmail | None:
    """Send a due email through Django's mail (EMAIL_URL); None when there was nothing to do."""
    # SMTP may take a few round trips, each within EMAIL_TIMEOUT.
    if not attempt_claim(model=OutgoingEmail, pk=email_id, lease_seconds=3 * settings.EMAIL_TIMEOUT + 5):
        return None
    email = OutgoingEmail.objects.get(pk=email_id)
    error = ""
    try:
        email_render(email=email).send()
    except Exception as exc:  # whatever the mail backend raises is a failed attempt, retried
        error = f"{type(exc).__name__}: {exc}"[:500]
    with transaction.atomic():
        email = email_lock(email_id=email_id)
        now = timezone.now()
        email.claimed_until, email.last_error = None, error
        if not error:
            email.status, email.sent_at, email.next_attempt_at = EmailStatus.SENT, now, None
        else:
            # Due again: beat's sweep is emails_send_due.
            attempt_failed(
                email,
                max_attempts=EMAIL_MAX_ATTEMPTS,
                base_seconds=settings.EMAIL_RETRY_BASE_SECONDS,
                cap_seconds=EMAIL_RETRY_CAP_SECONDS,
                now=now,
            )
        email.save()
    logger.info("email attempt", extra={"email_id": str(email.pk), "kind": email.kind, "status": email.status})
    return email


@transaction.atomic
def notification_preference_set(*, merchant, sale_emails: bool) -> NotificationPreference:
    """Record whether the merchant wants an email for each sale."""
    preference, _ = NotificationPreference.objects.update_or_create(
        merchant=merchant, defaults={"sale_emails": sale_emails}
    )
    return preference
