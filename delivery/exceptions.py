from core.errors import ApplicationError, NotFound, RequestTooLarge


class DeliveryKindMismatch(ApplicationError):
    status_code = 409
    code = "delivery_kind_mismatch"
    title = "Delivery kind mismatch"
    default_detail = "This product does not deliver that kind of content."


class InvalidCodeState(ApplicationError):
    status_code = 409
    code = "invalid_code_state"
    title = "Invalid code state"
    default_detail = "Only an AVAILABLE code can be deleted."


class CodeNotFound(NotFound):
    default_detail = "Code not found."


class DeliveryNotFound(NotFound):
    default_detail = "Order not found."


class LicenseNotFound(NotFound):
    default_detail = "Unknown license key."


class InstanceNotFound(NotFound):
    default_detail = "Unknown instance of this license key."


class ActivationLimitReached(ApplicationError):
    status_code = 409
    code = "activation_limit_reached"
    title = "Activation limit reached"
    default_detail = "This license key has as many active instances as it allows."


class LicenseRevoked(ApplicationError):
    status_code = 409
    code = "license_revoked"
    title = "License revoked"
    default_detail = "This license key was revoked."


class FileTooLarge(RequestTooLarge):
    default_detail = "The file is larger than this server accepts."


class ProductFileNotFound(NotFound):
    default_detail = "This product has no file yet."


class DownloadLinkNotFound(NotFound):
    default_detail = "This download link is not valid."


class DownloadGone(ApplicationError):
    """A download link that was valid once and no longer works (410)."""

    status_code = 410


class LinkExpired(DownloadGone):
    code = "link_expired"
    title = "Link expired"
    default_detail = "This download link has expired: ask for the order's delivery again for a fresh one."


class DownloadLimitReached(DownloadGone):
    code = "download_limit_reached"
    title = "Download limit reached"
    default_detail = "This order has used all of its downloads."


class EntitlementRevoked(DownloadGone):
    code = "entitlement_revoked"
    title = "Entitlement revoked"
    default_detail = "This order's delivery was revoked."
