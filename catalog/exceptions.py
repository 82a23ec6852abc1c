from core.errors import ApplicationError, InvalidInput, NotFound, PermissionDenied


class ProductNotFound(NotFound):
    default_detail = "Product not found."


class ProductUnavailable(ApplicationError):
    status_code = 409
    code = "product_unavailable"
    title = "Product unavailable"
    default_detail = "This product is not available for sale."

    @classmethod
    def file_missing(cls) -> "ProductUnavailable":
        """A FILE product whose file was never uploaded (the ORM path and the purchase function say it alike)."""
        return cls("This product's file has not been uploaded yet.")


class OutOfStock(ApplicationError):
    status_code = 409
    code = "out_of_stock"
    title = "Out of stock"
    default_detail = "Not enough units of this product are available."

    # One wording per shortage, for every path that finds it (the ORM's and the purchase function's).
    @classmethod
    def of_units(cls, *, available: int, requested: int) -> "OutOfStock":
        return cls(f"Only {available} units available, {requested} requested.")

    @classmethod
    def of_codes(cls, *, available: int, requested: int) -> "OutOfStock":
        return cls(f"Only {available} codes available, {requested} requested.")


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
