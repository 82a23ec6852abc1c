"""Re-encrypt every code under the newest DELIVERY_ENCRYPTION_KEYS key, after a rotation."""

from django.core.management.base import BaseCommand

from delivery.services.codes import codes_reencrypt


class Command(BaseCommand):
    help = (
        "After putting a new key first in DELIVERY_ENCRYPTION_KEYS (old keys kept after it), move every code's "
        "ciphertext and lookup hash to the new key. Safe to stop and run again, and to run while serving; once it "
        "reports 0 moved, the old keys can be removed from the setting."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Codes read per query (default 500).")

    def handle(self, *args, batch_size: int, **options):
        result = codes_reencrypt(batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(f"{result.moved} code(s) re-encrypted under the newest key, {result.current} current.")
        )
