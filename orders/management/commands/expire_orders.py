"""Expire unpaid card orders and return their units to stock. Meant for cron, every minute."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from orders.models import OrderStatus
from orders.selectors import order_list_due_for_expiry
from orders.services.card import order_expire


class Command(BaseCommand):
    help = (
        "Move PENDING card orders past their expiresAt to EXPIRED: cancel the PaymentIntent, release the units. "
        "Safe to run concurrently with webhooks and with itself (each order is locked). Exit code 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the orders that would expire; change nothing.")
        parser.add_argument("--limit", type=int, default=1000, help="At most this many orders per run (default 1000).")

    def handle(self, *args, dry_run: bool, limit: int, **options):
        due = list(order_list_due_for_expiry(now=timezone.now()).values_list("id", flat=True)[:limit])
        if dry_run:
            for order_id in due:
                self.stdout.write(f"would expire {order_id}")
            self.stdout.write(f"{len(due)} order(s) due for expiry (dry run, nothing changed).")
            return
        expired = left_pending = 0
        for order_id in due:
            order = order_expire(order_id=order_id)
            if order.status == OrderStatus.EXPIRED:
                expired += 1
                self.stdout.write(f"expired {order_id}")
            elif order.status == OrderStatus.PENDING:
                # Its payment is already on the way; the webhook will complete it.
                left_pending += 1
                self.stdout.write(f"left pending {order_id} (payment in flight)")
        self.stdout.write(
            self.style.SUCCESS(f"{expired} order(s) expired, {left_pending} left pending, {len(due)} due.")
        )
