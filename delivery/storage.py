"""Where product files are kept: the "delivery" storage of STORAGES (paymentflow/settings.py).

The filesystem under MEDIA_ROOT by default, streamed to the buyer by the
download view; an S3-compatible bucket (django-storages) when
DELIVERY_S3_BUCKET is set, where the download view answers with a redirect
to the bucket's own presigned URL instead of passing the bytes through.
"""

import uuid

from django.core.files.storage import Storage, storages
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage

STORAGE_ALIAS = "delivery"


def delivery_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def storage_name_for(*, product_id) -> str:
    """Return a new, unique name for a file of `product_id`: never the uploader's file name, never reused."""
    return f"products/{product_id}/{uuid.uuid4().hex}"


def presigned_download_url(*, storage_name: str, file_name: str, expires_in: int) -> str | None:
    """Return the bucket's presigned URL for downloading `storage_name` as `file_name`, or None off S3."""
    storage = delivery_storage()
    if not isinstance(storage, S3Storage):
        return None
    return storage.url(
        storage_name,
        parameters={"ResponseContentDisposition": content_disposition_header(True, file_name)},
        expire=expires_in,
    )
