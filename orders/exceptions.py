from core.errors import ApplicationError


class OrderNotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_detail = "Order not found."


class CannotBuyOwnProduct(ApplicationError):
    status_code = 400
    code = "cannot_buy_own_product"
    default_detail = "A merchant cannot order its own product."


class InvalidOrderState(ApplicationError):
    status_code = 409
    code = "invalid_order_state"
    default_detail = "The order is not in a state that allows this."


class RefundNotAllowed(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_detail = "Only the selling merchant or staff can refund an order."


class PaymentMismatch(ApplicationError):
    status_code = 409
    code = "payment_mismatch"
    default_detail = "The payment does not match the order."
