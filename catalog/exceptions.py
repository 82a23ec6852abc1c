from core.errors import ApplicationError


class ProductNotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_detail = "Product not found."


class ProductUnavailable(ApplicationError):
    status_code = 409
    code = "product_unavailable"
    default_detail = "This product is not available for sale."


class OutOfStock(ApplicationError):
    status_code = 409
    code = "out_of_stock"
    default_detail = "Not enough units of this product are available."


class NotMerchant(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_detail = "Only merchant accounts can sell products."


class NotProductOwner(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_detail = "Only the merchant who owns this product can change it."
