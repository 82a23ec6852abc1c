from core.errors import ApplicationError


class InvalidAmount(ApplicationError):
    status_code = 400
    code = "validation_error"
    default_detail = "Amount must be a positive number with at most 2 decimal places."


class AmountAboveMaximum(ApplicationError):
    status_code = 400
    code = "amount_above_maximum"
    default_detail = "Amount is above the maximum deposit."


class AmountBelowMinimum(ApplicationError):
    status_code = 400
    code = "amount_below_minimum"
    default_detail = "Amount is below the minimum withdrawal."


class InsufficientFunds(ApplicationError):
    status_code = 409
    code = "insufficient_funds"
    default_detail = "The wallet balance is too low for this movement."


class WalletFrozen(ApplicationError):
    status_code = 409
    code = "wallet_frozen"
    default_detail = "The wallet is frozen by an operator."


class AdjustmentReasonRequired(ApplicationError):
    status_code = 400
    code = "validation_error"
    default_detail = "An adjustment needs a reason."
