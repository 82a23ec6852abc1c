from core.errors import ApplicationError, NotFound


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
