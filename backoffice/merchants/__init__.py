"""The merchants' pages (`/merchant/`, `merchant_site`): products, sales, ledger, webhooks and email preferences.

Writes go through the same services as the API: products through
`catalog.services` (delete is the soft delete), refunds through `order_refund`.
"""

from backoffice.merchants import codes, ledger, products, sales, webhooks  # noqa: F401
