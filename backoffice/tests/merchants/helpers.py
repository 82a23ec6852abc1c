"""The merchants' pages as the tests address them."""

PRODUCTS = "/merchant/catalog/product/"
SALES = "/merchant/orders/order/"
LEDGER = "/merchant/wallets/ledgerentry/"


def results(response) -> list:
    return list(response.context["cl"].result_list)
