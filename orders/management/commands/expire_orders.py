"""Expire unpaid card orders and return their units to stock (beat does it every minute: orders.expire_due)."""

from django.core.management.base import BaseCommand

from orders.services.expiry import orders_due_for_expiry, orders_expire_due


class Command(BaseCommand):
    help = (
        "Move PENDING card orders past their expiresAt to EXPIRED: cancel the PaymentIntent, release the units. "
        "Safe to run concurrently with webhooks and with itself (each order is locked). Exit code 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the orders that would expire; change nothing.")
        parser.add_argument("--limit", type=int, default=1000, help="At most this many orders per run (default 1000).")

    def handle(self, *args, dry_run: bool, limit: int, **options):
        if dry_run:
            due = orders_due_for_expiry(limit=limit)
            for order_id in due:
                self.stdout.write(f"would expire {order_id}")
            self.stdout.write(f"{len(due)} order(s) due for expiry (dry run, nothing changed).")
            return
        run = orders_expire_due(limit=limit)
        for order_id in run.expired:
            self.stdout.write(f"expired {order_id}")
        for order_id in run.left_pending:
            self.stdout.write(f"left pending {order_id} (payment in flight)")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(run.expired)} order(s) expired, {len(run.left_pending)} left pending, {run.due} due."
            )
        )
