"""/merchant/ ledger: only the merchant's own entries, read-only."""

import pytest

from backoffice.tests.factories import sale
from backoffice.tests.merchants.helpers import LEDGER, results
from catalog.tests.factories import ProductFactory
from wallets.models import LedgerEntry
from wallets.tests.factories import wallet_of

pytestmark = pytest.mark.django_db


def test_a_merchant_sees_only_its_own_ledger(merchant, merchant_client, rival):
    order = sale(ProductFactory(merchant=merchant))

    response = merchant_client.get(LEDGER)

    entry = LedgerEntry.objects.get(wallet=wallet_of(merchant))
    assert results(response) == [entry]
    assert results(merchant_client.get(LEDGER, {"q": str(order.id)})) == [entry]
    rival_entry = LedgerEntry.objects.get(wallet=wallet_of(rival))
    assert results(merchant_client.get(LEDGER, {"q": str(rival_entry.id)})) == []


@pytest.mark.parametrize("suffix", ["change/", "delete/", "history/"])
def test_another_merchants_ledger_entry_is_a_404_by_url(merchant_client, rival, suffix):
    theirs = LedgerEntry.objects.get(wallet=wallet_of(rival))

    assert merchant_client.get(f"{LEDGER}{theirs.id}/{suffix}").status_code == 404


def test_the_ledger_is_read_only(merchant, merchant_client):
    sale(ProductFactory(merchant=merchant))
    entry = LedgerEntry.objects.get(wallet=wallet_of(merchant))

    assert merchant_client.get(f"{LEDGER}{entry.id}/change/").status_code == 200
    assert merchant_client.get(f"{LEDGER}add/").status_code == 403
    assert merchant_client.post(f"{LEDGER}{entry.id}/change/", {"amount": "1000.00"}).status_code == 403
    assert merchant_client.post(f"{LEDGER}{entry.id}/delete/", {"post": "yes"}).status_code == 403
    assert b"delete_selected" not in merchant_client.get(LEDGER).content
    assert LedgerEntry.objects.get(id=entry.id).amount == entry.amount
