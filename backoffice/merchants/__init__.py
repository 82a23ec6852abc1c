"""The merchants' pages (`/merchant/`, `merchant_site`): their products, their sales and their ledger.

Writes go through the same services as the API: products through
`catalog.services` (delete is the soft delete), refunds through `order_refund`.
"""

from backoffice.merchants import codes, ledger, products, sales  # noqa: F401
