"""Products: what merchants sell. Rows are soft-deleted, never removed, because orders point at them."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from core.money import MoneyField

NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 5000
# The bounds of the API (docs/api.md, Products), held by the serializers, the
# merchants' form and CHECK constraints alike. Every column that sums them (order
# totals, units supplied) is wide enough for any reachable value.
MIN_PRICE = Decimal("0.01")
MAX_PRICE = Decimal("1000000.00")
MAX_UNITS = 1_000_000_000
# The most activations one license key may have (API.md: every number has a bound).
MAX_ACTIVATION_LIMIT = 1_000_000

# The public list shows only these rows; its indexes are partial on the same condition.
PUBLIC = models.Q(is_active=True, deleted_at__isnull=True)


class DeliveryKind(models.TextChoices):
    """What a buyer gets for a unit (API.md, Digital delivery); fixed when the product is created."""

    NONE = "NONE", "Nothing to deliver"
    CODES = "CODES", "One code per unit, from the merchant's pool"
    FILE = "FILE", "One file, downloaded by every buyer"


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: a merchant with products (and so, possibly, sales) is never cascaded away.
    # The composite index below leads with merchant, so the FK needs none of its own.
    merchant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="products", db_index=False
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True, default="", max_length=DESCRIPTION_MAX_LENGTH)
    price = MoneyField(validators=[MinValueValidator(MIN_PRICE), MaxValueValidator(MAX_PRICE)])
    available_units = models.PositiveIntegerField(validators=[MaxValueValidator(MAX_UNITS)])
    # Initial units plus every restock minus every reduction made by the merchant.
    # Orders never touch it, so `units_supplied - available_units` is the number of
    # units held by live orders: the reconciliation check compares the two.
    # 64 bits: restocks add up across the product's life, past any one stock figure.
    units_supplied = models.PositiveBigIntegerField(
        help_text="Units the merchant has put on sale in total; minus available units = units held by orders."
    )
    is_active = models.BooleanField(default=True)
    # CODES: `available_units` is the number of AVAILABLE codes, moved only by the
    # delivery app (uploads, deletions) and by orders; the merchant cannot set it.
    delivery_kind = models.CharField(max_length=8, choices=DeliveryKind.choices, default=DeliveryKind.NONE)
    # CODES only: active instances a delivered key may have; null = unlimited.
    activation_limit = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_ACTIVATION_LIMIT)]
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(condition=models.Q(price__lte=MAX_PRICE), name="product_price_at_most_max"),
            models.CheckConstraint(condition=models.Q(available_units__gte=0), name="product_available_units_gte_0"),
            models.CheckConstraint(
                condition=models.Q(available_units__lte=MAX_UNITS), name="product_available_units_at_most_max"
            ),
            # Units held by orders (supplied - available) can never be negative.
            models.CheckConstraint(
                condition=models.Q(units_supplied__gte=models.F("available_units")),
                name="product_units_supplied_gte_available",
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="product_name_not_empty"),
            models.CheckConstraint(
                condition=models.Q(delivery_kind__in=DeliveryKind.values), name="product_delivery_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(activation_limit__isnull=True)
                | models.Q(
                    delivery_kind=DeliveryKind.CODES,
                    activation_limit__gte=1,
                    activation_limit__lte=MAX_ACTIVATION_LIMIT,
                ),
                name="product_activation_limit_codes_only",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("description"), DESCRIPTION_MAX_LENGTH),
                name="product_description_max_length",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], condition=PUBLIC, name="product_public_newest_idx"),
            models.Index(fields=["price", "-created_at"], condition=PUBLIC, name="product_public_price_idx"),
            models.Index(fields=["merchant", "-created_at"], name="product_merchant_newest_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
