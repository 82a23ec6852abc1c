from core.errors import ApplicationError, InvalidInput


class InvalidAmount(InvalidInput):
    default_detail = "Amount must be a positive number with at most 2 decimal places."


class AmountAboveMaximum(ApplicationError):
    code = "amount_above_maximum"
    title = "Amount above maximum"
    default_detail = "Amount is above the maximum deposit."


class AmountBelowMinimum(ApplicationError):
    code = "amount_below_minimum"
    title = "Amount below minimum"
    default_detail = "Amount is below the minimum withdrawal."


class InsufficientFunds(ApplicationError):
    status_code = 409
    code = "insufficient_funds"
    title = "Insufficient funds"
    default_detail = "The wallet balance is too low for this movement."

    @classmethod
    def for_balance(cls, *, balance, amount) -> "InsufficientFunds":
        """The wording of every path that finds a balance short (ledger_post, refunds, the purchase function)."""
        return cls(f"Wallet balance {balance} is less than {amount}.")


class WalletFrozen(ApplicationError):
    status_code = 409
    code = "wallet_frozen"
    title = "Wallet frozen"
    default_detail = "The wallet is frozen by an operator."


class AdjustmentReasonRequired(InvalidInput):
    default_detail = "An adjustment needs a reason."
