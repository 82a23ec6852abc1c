from core.errors import ApplicationError, InvalidInput, NotFound, PermissionDenied


class ProductNotFound(NotFound):
    default_detail = "Product not found."


class ProductUnavailable(ApplicationError):
    status_code = 409
    code = "product_unavailable"
    title = "Product unavailable"
    default_detail = "This product is not available for sale."


class OutOfStock(ApplicationError):
    status_code = 409
    code = "out_of_stock"
    title = "Out of stock"
    default_detail = "Not enough units of this product are available."


class NotMerchant(PermissionDenied):
    default_detail = "Only merchant accounts can sell products."


class NotProductOwner(PermissionDenied):
    default_detail = "Only the merchant who owns this product can change it."


class CodesUnitsReadOnly(InvalidInput):
    default_detail = "A CODES product's availableUnits is the number of its available codes: upload codes instead."


class ActivationLimitCodesOnly(InvalidInput):
    default_detail = "Only CODES products have an activation limit."


class TooManyUnits(InvalidInput):
    default_detail = "Too many units for one product."
