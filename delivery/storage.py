"""Where product files are kept: the "delivery" storage of STORAGES (paymentflow/settings.py).

The filesystem under MEDIA_ROOT by default, streamed to the buyer by the
download view; an S3-compatible bucket (django-storages) when
DELIVERY_S3_BUCKET is set, where the download view answers with a redirect
to the bucket's own presigned URL instead of passing the bytes through.
"""

import unicodedata
import uuid
from urllib.parse import quote

from django.core.files.storage import Storage, storages
from storages.backends.s3 import S3Storage

STORAGE_ALIAS = "delivery"


def delivery_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def storage_name_for(*, product_id) -> str:
    """Return a new, unique name for a file of `product_id`: never the uploader's file name, never reused."""
    return f"products/{product_id}/{uuid.uuid4().hex}"


def attachment_header(file_name: str) -> str:
    """Return `Content-Disposition: attachment` naming `file_name` for every client (RFC 6266).

    `filename="…"` always, in ASCII (what API.md promises and every client reads),
    and `filename*` in UTF-8 as well when the name is not plain ASCII.
    """
    ascii_name = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
    ascii_name = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in ascii_name) or "download"
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != file_name:
        header += f"; filename*=utf-8''{quote(file_name)}"
    return header


def presigned_download_url(*, storage_name: str, file_name: str, expires_in: int) -> str | None:
    """Return the bucket's presigned URL for downloading `storage_name` as `file_name`, or None off S3."""
    storage = delivery_storage()
    if not isinstance(storage, S3Storage):
        return None
    return storage.url(
        storage_name,
        parameters={"ResponseContentDisposition": attachment_header(file_name)},
        expire=expires_in,
    )
