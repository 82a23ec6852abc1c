"""Delete idempotency records older than IDEMPOTENCY_KEY_TTL_HOURS (they are ignored already)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from core.idempotency import idempotency_keys_expired, idempotency_keys_purge


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS. Safe to run at any time "
        "(beat runs it hourly): requests already ignore expired records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, dry_run: bool = False, **options):
        ttl_hours = settings.IDEMPOTENCY_KEY_TTL_HOURS
        cutoff = timezone.now() - timedelta(hours=ttl_hours)
        if dry_run:
            count = idempotency_keys_expired().count()
            self.stdout.write(
                f"Dry run: {count} idempotency record(s) older than {ttl_hours} h "
                f"(created before {cutoff.isoformat()}) would be deleted."
            )
            return
        count = idempotency_keys_purge()
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {count} idempotency record(s) older than {ttl_hours} h (created before {cutoff.isoformat()})."
            )
        )
