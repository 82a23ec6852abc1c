"""Races against real PostgreSQL: threads released together by a barrier, each with its own client."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.services import token_pair_for
from accounts.tests.factories import UserFactory
from core.tests.threads import run_together
from wallets.models import EntryType, JournalKind, LedgerEntry
from wallets.services import Leg
from wallets.tests.factories import assert_ledger_consistent, fund_wallet, post_legs, wallet_of

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def client_for(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def test_concurrent_withdrawals_never_overdraw():
    user = UserFactory()
    fund_wallet(user, "100.00")
    token = token_pair_for(user=user).access

    responses = run_together(
        30, lambda i: client_for(token).post("/api/v1/wallet/withdraw", {"amount": "30.00"}, format="json")
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * 27
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_funds"}
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.entry_count) == (D("10.00"), 4)
    assert sorted(r.json()["balanceAfter"] for r in responses if r.status_code == 201) == ["10.00", "40.00", "70.00"]
    assert_ledger_consistent()


def test_concurrent_deposits_all_count():
    user = UserFactory()
    fund_wallet(user, "0.50")
    token = token_pair_for(user=user).access

    responses = run_together(
        50, lambda i: client_for(token).post("/api/v1/wallet/deposit", {"amount": "1.00"}, format="json")
    )

    assert [r.status_code for r in responses] == [201] * 50
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.entry_count) == (D("50.50"), 51)
    assert LedgerEntry.objects.filter(wallet=wallet, type=EntryType.DEPOSIT).count() == 51
    assert_ledger_consistent()


def test_opposite_transfers_do_not_deadlock():
    """Wallets are locked in id order, so A→B and B→A at once queue instead of deadlocking."""
    alice, bob = UserFactory(), UserFactory()
    fund_wallet(alice, "100.00")
    fund_wallet(bob, "100.00")
    alice_wallet, bob_wallet = wallet_of(alice), wallet_of(bob)

    def transfer(i: int):
        source, target = (alice_wallet, bob_wallet) if i % 2 else (bob_wallet, alice_wallet)
        return post_legs(
            kind=JournalKind.ADJUSTMENT,
            legs=[
                Leg(wallet=source, amount=D("-1.00"), entry_type=EntryType.ADJUSTMENT),
                Leg(wallet=target, amount=D("1.00"), entry_type=EntryType.ADJUSTMENT),
            ],
        )

    results = run_together(20, transfer)

    assert not [r for r in results if isinstance(r, BaseException)]
    assert (wallet_of(alice).balance, wallet_of(bob).balance) == (D("100.00"), D("100.00"))
    assert (wallet_of(alice).entry_count, wallet_of(bob).entry_count) == (21, 21)
    assert_ledger_consistent()
