"""Delivery reads: a merchant's code pool (hints only), a buyer's delivery (the codes in clear), product files."""

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from catalog.models import DeliveryKind, Product
from catalog.selectors import product_get_owned
from delivery.crypto import code_decrypt
from delivery.exceptions import DeliveryNotFound, ProductFileNotFound
from delivery.files import require_file_kind
from delivery.models import Code, CodeStatus, Delivery, DeliveryStatus, ProductFile


def code_list_for_merchant(*, product_id: UUID | str, merchant: User, status: str | None = None) -> QuerySet[Code]:
    """Return the pool of a product of `merchant` (404 / 403 otherwise), deleted codes excluded, newest first."""
    product = product_get_owned(product_id=product_id, merchant=merchant)
    codes = Code.objects.filter(product=product, deleted_at__isnull=True).select_related("delivery")
    if status is not None:
        codes = codes.filter(status=status)
    return codes.order_by("-created_at", "-id")


@dataclass(frozen=True)
class DeliveredCode:
    id: UUID
    code: str


@dataclass(frozen=True)
class BuyerDelivery:
    """An order's delivery as its buyer sees it: `codes` in clear while it is DELIVERED, else none."""

    delivery: Delivery
    codes: list[DeliveredCode]


def delivery_get_for_buyer(*, order_id: UUID | str, buyer: User) -> BuyerDelivery:
    """Return the delivery of one of `buyer`'s orders with its codes decrypted; anyone else's is a 404.

    Codes are shown only here (and in the buyer's receipt, built on this): to
    the buyer, while the delivery stands. A revoked one shows none.
    """
    delivery = Delivery.objects.select_related("product").filter(order_id=order_id, buyer=buyer).first()
    if delivery is None:
        raise DeliveryNotFound()
    codes = []
    if delivery.status == DeliveryStatus.DELIVERED:
        held = delivery.codes.filter(status=CodeStatus.DELIVERED).order_by("created_at", "id")
        codes = [DeliveredCode(id=code.id, code=code_decrypt(code.ciphertext)) for code in held]
    return BuyerDelivery(delivery=delivery, codes=codes)


def product_get_for_file(*, product_id: UUID | str, merchant: User) -> Product:
    """Return a non-deleted FILE product of `merchant` (404, 403, or 409 `delivery_kind_mismatch` otherwise)."""
    return require_file_kind(product_get_owned(product_id=product_id, merchant=merchant))


def product_file_get(*, product_id: UUID | str, merchant: User) -> ProductFile:
    """Return the file of `merchant`'s FILE product, or raise `ProductFileNotFound`."""
    product_file = ProductFile.objects.filter(product=product_get_for_file(product_id=product_id, merchant=merchant))
    if not (found := product_file.first()):
        raise ProductFileNotFound()
    return found


@dataclass(frozen=True)
class DownloadOffer:
    """The file a delivery lets its buyer download, and how many downloads it has left."""

    product_file: ProductFile
    downloads_remaining: int


def delivery_download_offer(*, delivery: Delivery) -> DownloadOffer | None:
    """Return what a DELIVERED delivery of a FILE product offers to download; None for any other."""
    if delivery.status != DeliveryStatus.DELIVERED or delivery.product.delivery_kind != DeliveryKind.FILE:
        return None
    product_file = ProductFile.objects.filter(product_id=delivery.product_id).first()
    if product_file is None:
        return None
    remaining = max(settings.DOWNLOAD_LIMIT - delivery.downloads_used, 0)
    return DownloadOffer(product_file=product_file, downloads_remaining=remaining)
