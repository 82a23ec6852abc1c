"""What a buyer gets for an order: codes from a merchant's pool, a product's file, and license activations.

Orders sit above this app (orders → delivery → catalog), so nothing here has a
foreign key to an order: a `Delivery` names its order by id, as a ledger entry
does, and a code points at the `Delivery` that holds it. One foreign key per
code means a code can never be in two orders; the order's id lives in one row
per order, written in the order's own transaction.
"""

import uuid

from django.conf import settings
from django.db import models

# API.md: 1 to 255 printable characters per code, 1 to 1000 codes per upload.
CODE_MAX_LENGTH = 255
CODES_PER_UPLOAD = 1000
INSTANCE_NAME_MAX_LENGTH = 255


class CodeStatus(models.TextChoices):
    AVAILABLE = "AVAILABLE", "Available"
    # Held by a pending card order; back to AVAILABLE if it fails or expires (never shown).
    RESERVED = "RESERVED", "Reserved"
    DELIVERED = "DELIVERED", "Delivered"
    # Its order was fully refunded, or an operator revoked it: never sold again.
    REVOKED = "REVOKED", "Revoked"


# Codes a buyer has seen: the license API knows these and no others.
SHOWN_CODE_STATUSES = (CodeStatus.DELIVERED, CodeStatus.REVOKED)


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending (order not completed)"
    DELIVERED = "DELIVERED", "Delivered"
    REVOKED = "REVOKED", "Revoked"


class Delivery(models.Model):
    """An order's entitlement: what it delivered, whether it still stands, and the downloads it used."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The order (orders.Order) by id: delivery must not depend on orders.
    order_id = models.UUIDField(unique=True)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deliveries")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices)
    # Successful downloads of the product's file, raised by a conditional UPDATE
    # (`downloads_used < DOWNLOAD_LIMIT`) so concurrent downloads never pass the limit.
    downloads_used = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["buyer", "-created_at"], name="delivery_buyer_newest_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=DeliveryStatus.values), name="delivery_status_valid"),
            models.CheckConstraint(condition=models.Q(downloads_used__gte=0), name="delivery_downloads_used_gte_0"),
            models.CheckConstraint(
                condition=~models.Q(status=DeliveryStatus.DELIVERED) | models.Q(delivered_at__isnull=False),
                name="delivery_delivered_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=DeliveryStatus.REVOKED) | models.Q(revoked_at__isnull=False),
                name="delivery_revoked_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery of order {self.order_id} ({self.status})"


class Code(models.Model):
    """One unit of a CODES product: a secret, stored encrypted, found by a keyed hash.

    `ciphertext` is a Fernet token (delivery.crypto); `lookup_hash` an
    HMAC-SHA256 of the code under a key derived from the same setting, so the
    pool can be deduplicated and the license API can find a key without any
    column that holds, or indexes, the code itself.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The indexes below lead with product, so the FK needs none of its own.
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="codes", db_index=False)
    # The order holding it (RESERVED, DELIVERED, REVOKED); none while AVAILABLE.
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, null=True, blank=True, related_name="codes")
    status = models.CharField(max_length=16, choices=CodeStatus.choices, default=CodeStatus.AVAILABLE)
    ciphertext = models.TextField()
    lookup_hash = models.CharField(max_length=64)
    # Never the whole code (see delivery.crypto.code_hint).
    hint = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Only an AVAILABLE code is deleted; the row stays so a deletion can be audited.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Allocation: the oldest AVAILABLE codes of a product first.
            models.Index(
                fields=["product", "created_at", "id"],
                condition=models.Q(status=CodeStatus.AVAILABLE, deleted_at__isnull=True),
                name="code_available_idx",
            ),
            # The merchant's list, newest first, per status.
            models.Index(
                fields=["product", "status", "-created_at"],
                condition=models.Q(deleted_at__isnull=True),
                name="code_pool_list_idx",
            ),
            # The license API: a key a buyer has seen, by its keyed hash.
            models.Index(
                fields=["lookup_hash"],
                condition=models.Q(status__in=SHOWN_CODE_STATUSES),
                name="code_license_lookup_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=CodeStatus.values), name="code_status_valid"),
            # Held by an order exactly when it is not AVAILABLE.
            models.CheckConstraint(
                condition=models.Q(status=CodeStatus.AVAILABLE, delivery__isnull=True)
                | (~models.Q(status=CodeStatus.AVAILABLE) & models.Q(delivery__isnull=False)),
                name="code_held_iff_not_available",
            ),
            models.CheckConstraint(
                condition=models.Q(deleted_at__isnull=True) | models.Q(status=CodeStatus.AVAILABLE),
                name="code_deleted_only_available",
            ),
            # The pool never holds one code twice; a deleted code may be uploaded again.
            models.UniqueConstraint(
                fields=["product", "lookup_hash"],
                condition=models.Q(deleted_at__isnull=True),
                name="code_unique_in_pool",
            ),
        ]

    def __str__(self) -> str:
        return f"Code …{self.hint} ({self.status})"


class ProductFile(models.Model):
    """The one file of a FILE product, in Django's storage; replaced in place by a new upload."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.OneToOneField("catalog.Product", on_delete=models.PROTECT, related_name="delivery_file")
    # The name in the storage (never shown to buyers: links name the order, not the file).
    storage_name = models.CharField(max_length=500)
    # What the buyer's download is called (Content-Disposition).
    file_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(file_name=""), name="product_file_name_not_empty")]

    def __str__(self) -> str:
        return self.file_name


class LicenseActivation(models.Model):
    """One instance of the merchant's software activated with a delivered code; its id is the `instanceId`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="activations", db_index=False)
    instance_name = models.CharField(max_length=INSTANCE_NAME_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by a deactivation, or when the code is revoked; an active instance has none.
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["code", "created_at"], name="activation_code_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(instance_name=""), name="activation_instance_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_name} ({'active' if self.deactivated_at is None else 'deactivated'})"


class Revocation(models.Model):
    """An operator's revocation of a code or of a whole delivery: who, what, why, when. Append-only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    code = models.ForeignKey(Code, on_delete=models.PROTECT, null=True, blank=True, related_name="revocations")
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, null=True, blank=True, related_name="revocations")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__isnull=False, delivery__isnull=True)
                | models.Q(code__isnull=True, delivery__isnull=False),
                name="revocation_one_target",
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="revocation_reason_not_empty"),
        ]

    def __str__(self) -> str:
        target = f"code {self.code_id}" if self.code_id else f"delivery {self.delivery_id}"
        return f"Revocation of {target}"
