"""What each email says: subject, text and HTML parts, rendered when it is sent (never stored)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from notifications.models import EmailKind, OutgoingEmail, WebhookEndpoint
from orders.models import Order


@dataclass(frozen=True)
class ReceiptDelivery:
    """What the buyer gets, as a receipt shows it: the codes, or where to fetch the delivery."""

    codes: list[str] = field(default_factory=list)
    link: str = ""
    note: str = ""


def receipt_delivery(*, order: Order) -> ReceiptDelivery:
    """Return the delivery part of an order's receipt.

    The one place a receipt learns what was delivered: the delivery app
    (codes, download links) extends it; until then every receipt points at the
    order's delivery in the API, where the buyer's client shows it.
    """
    link = f"{settings.PUBLIC_BASE_URL}/{settings.API_PREFIX}/orders/{order.pk}/delivery"
    return ReceiptDelivery(link=link, note="Your purchase is ready: open its delivery with your account.")


def _render(*, recipient: str, subject: str, template: str, context: dict) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"notifications/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    message.attach_alternative(render_to_string(f"notifications/{template}.html", context), "text/html")
    return message


def email_render(*, email: OutgoingEmail) -> EmailMultiAlternatives:
    """Build the message an OutgoingEmail stands for, from the rows as they are now."""
    if email.kind == EmailKind.ENDPOINT_DISABLED:
        endpoint = WebhookEndpoint.objects.get(pk=email.subject_id)
        return _render(
            recipient=email.recipient,
            subject="Your webhook endpoint was disabled",
            template="endpoint_disabled",
            context={"endpoint": endpoint, "days": settings.WEBHOOK_DISABLE_AFTER_DAYS},
        )
    order = Order.objects.get(pk=email.subject_id)
    context = {"order": order, "total": f"{order.total_amount:.2f} {order.currency}"}
    if email.kind == EmailKind.SALE_NOTICE:
        return _render(
            recipient=email.recipient,
            subject=f"You sold {order.product_name}",
            template="sale_notice",
            context=context,
        )
    return _render(
        recipient=email.recipient,
        subject=f"Your receipt for {order.product_name}",
        template="receipt",
        context={**context, "delivery": receipt_delivery(order=order)},
    )
