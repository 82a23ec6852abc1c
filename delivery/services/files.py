"""Product files: the merchant's upload replacing the file for every buyer, and the counted downloads."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from catalog.services import product_lock_owned
from delivery.exceptions import DownloadLimitReached, DownloadLinkNotFound, EntitlementRevoked
from delivery.files import require_file_kind
from delivery.models import Delivery, DeliveryStatus, ProductFile
from delivery.storage import delivery_storage, presigned_download_url, storage_name_for
from delivery.uploads import HashedUpload

# --- product files --------------------------------------------------------------------


def product_file_replace(*, product_id: uuid.UUID | str, merchant: User, upload: HashedUpload) -> ProductFile:
    """Make `upload` the file of `merchant`'s FILE product, for every buyer, past and future.

    The bytes go to the storage first, with no transaction open and no lock held
    (a 100 MB copy or S3 upload must not hold the product row); then, under the
    product's lock, the file row is pointed at them. If that fails the new object
    is deleted again; once it has committed the previous object is deleted, so
    a download in flight keeps the file it opened and nothing is left behind.
    """
    storage = delivery_storage()
    storage_name = storage.save(storage_name_for(product_id=product_id), upload)
    try:
        with transaction.atomic():
            product = require_file_kind(product_lock_owned(product_id=product_id, merchant=merchant))
            previous = ProductFile.objects.filter(product=product).first()
            fields = {
                "storage_name": storage_name,
                "file_name": upload.name,
                "size": upload.size,
                "sha256": upload.sha256,
                "uploaded_at": timezone.now(),
            }
            if previous is None:
                product_file = ProductFile.objects.create(product=product, **fields)
            else:
                ProductFile.objects.filter(id=previous.id).update(**fields)
                product_file = ProductFile(id=previous.id, product=product, **fields)
                transaction.on_commit(lambda: storage.delete(previous.storage_name))
    except BaseException:
        storage.delete(storage_name)
        raise
    return product_file


# --- downloads ------------------------------------------------------------------------


@dataclass
class Download:
    """A download that has been counted: the file to stream, or the storage's URL to redirect to."""

    product_file: ProductFile
    stream: File | None = None
    redirect_url: str | None = None


def delivery_download(*, order_id: uuid.UUID) -> Download:
    """Count one download of the order's file and return what to send, or raise the 410 that applies.

    The file is opened (or its presigned URL made) before the count, so an
    attempt that cannot be served is never counted; the count itself is one
    conditional UPDATE (`downloads_used < DOWNLOAD_LIMIT` on a DELIVERED
    delivery), so concurrent downloads at the limit are decided by the row, not
    by what each request read before.
    """
    delivery = Delivery.objects.filter(order_id=order_id).first()
    product_file = ProductFile.objects.filter(product_id=delivery.product_id).first() if delivery else None
    if product_file is None:
        raise DownloadLinkNotFound()
    _refuse_download(delivery)
    download = Download(product_file=product_file)
    download.redirect_url = presigned_download_url(
        storage_name=product_file.storage_name,
        file_name=product_file.file_name,
        expires_in=settings.DOWNLOAD_LINK_TTL_SECONDS,
    )
    if download.redirect_url is None:
        download.stream = delivery_storage().open(product_file.storage_name, "rb")
    counted = Delivery.objects.filter(
        id=delivery.id, status=DeliveryStatus.DELIVERED, downloads_used__lt=settings.DOWNLOAD_LIMIT
    ).update(downloads_used=F("downloads_used") + 1, updated_at=timezone.now())
    if not counted:
        if download.stream is not None:
            download.stream.close()
        delivery.refresh_from_db()
        _refuse_download(delivery)
    return download


def _refuse_download(delivery: Delivery) -> None:
    if delivery.status == DeliveryStatus.REVOKED:
        raise EntitlementRevoked()
    if delivery.status != DeliveryStatus.DELIVERED:
        raise DownloadLinkNotFound()
    if delivery.downloads_used >= settings.DOWNLOAD_LIMIT:
        raise DownloadLimitReached()
