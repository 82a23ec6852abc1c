"""Helpers of the delivery tests: upload a product file as the API receives it, buy a FILE product."""

import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile

from orders.models import Order, PaymentMethod
from orders.services import order_purchase
from wallets.tests.factories import fund_wallet

API = "/api/v1"


def file_url(product) -> str:
    return f"{API}/products/{product.id}/file"


def put_file(client, product, content: bytes, name: str = "recordings.zip"):
    """PUT `content` as the product's file, multipart field `file`, the way a merchant's client sends it."""
    return client.put(file_url(product), {"file": SimpleUploadedFile(name, content)}, format="multipart")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def buy(buyer, product, *, quantity: int = 1) -> Order:
    """A completed WALLET order of `product` by `buyer` (funded for it)."""
    fund_wallet(buyer, product.price * quantity)
    return order_purchase(buyer=buyer, product_id=product.id, quantity=quantity, method=PaymentMethod.WALLET)


def stored_files(directory) -> list:
    """Every file under `directory` (the storage's, or the uploads' temporary one), as relative paths."""
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file())
