from core.errors import ApplicationError, NotFound, PermissionDenied


class OrderNotFound(NotFound):
    default_detail = "Order not found."


class CannotBuyOwnProduct(ApplicationError):
    code = "cannot_buy_own_product"
    title = "Cannot buy own product"
    default_detail = "A merchant cannot order its own product."


class InvalidOrderState(ApplicationError):
    status_code = 409
    code = "invalid_order_state"
    title = "Invalid order state"
    default_detail = "The order is not in a state that allows this."


class RefundNotAllowed(PermissionDenied):
    default_detail = "Only the selling merchant or an operator with the refund permission can refund an order."


class AmountAboveRefundable(ApplicationError):
    code = "amount_above_refundable"
    title = "Amount above refundable"
    default_detail = "The amount is more than is left to refund of this order."


class PaymentMismatch(ApplicationError):
    status_code = 409
    code = "payment_mismatch"
    title = "Payment does not match the order"
    default_detail = "The payment does not match the order."
