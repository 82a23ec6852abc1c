"""The rule of which product takes a file, shared by the upload's early check and its locked write."""

from catalog.models import DeliveryKind, Product
from delivery.exceptions import DeliveryKindMismatch


def require_file_kind(product: Product) -> Product:
    """Return `product` if it is a FILE product, else raise 409 `delivery_kind_mismatch`."""
    if product.delivery_kind != DeliveryKind.FILE:
        raise DeliveryKindMismatch("Only a FILE product takes a file.")
    return product
