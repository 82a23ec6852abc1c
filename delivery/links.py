"""Signed download links: a token naming the order and the link's expiry, never the file.

`django.core.signing` (HMAC-SHA256 under SECRET_KEY, with its own salt) signs
`[order id, expiry]`; a token whose signature does not match is a 404, one
whose signature matches but whose expiry has passed a 410 `link_expired`. The
link needs no other credential, so anyone holding it can download until it
expires or the order's downloads run out (DOWNLOAD_LIMIT).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from delivery.exceptions import DownloadLinkNotFound, LinkExpired

SALT = "paymentflow.delivery.download-link"


@dataclass(frozen=True)
class DownloadLink:
    path: str
    expires_at: datetime


def download_link_mint(*, order_id: uuid.UUID) -> DownloadLink:
    """Return a fresh link to the order's download, valid DOWNLOAD_LINK_TTL_SECONDS from now."""
    expires_at = (timezone.now() + timedelta(seconds=settings.DOWNLOAD_LINK_TTL_SECONDS)).replace(microsecond=0)
    token = signing.dumps([str(order_id), int(expires_at.timestamp())], salt=SALT)
    return DownloadLink(path=reverse("delivery-download", kwargs={"token": token}), expires_at=expires_at)


def download_link_read(*, token: str) -> uuid.UUID:
    """Return the order a link names; `DownloadLinkNotFound` if it was not signed here, `LinkExpired` if stale."""
    try:
        order_id, expires = signing.loads(token, salt=SALT)
        order_id = uuid.UUID(order_id)
        expires = int(expires)
    except (signing.BadSignature, TypeError, ValueError) as exc:
        raise DownloadLinkNotFound() from exc
    if timezone.now().timestamp() >= expires:
        raise LinkExpired()
    return order_id
