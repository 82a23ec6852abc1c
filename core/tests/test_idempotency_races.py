"""Idempotency-Key under real concurrency: PostgreSQL, threads released together, one client each."""

import hashlib
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import token_pair_for
from accounts.tests.factories import UserFactory
from core.idempotency import _claim, _Fingerprint
from core.models import IdempotencyKey
from core.tests.threads import run_together
from wallets.models import LedgerEntry, Wallet
from wallets.tests.factories import assert_ledger_consistent, wallet_of

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
DEPOSIT = "/api/v1/wallet/deposit"


def deposit(token: str, amount: str, key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post(DEPOSIT, {"amount": amount}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def deposits_of(user) -> int:
    return LedgerEntry.objects.filter(wallet=wallet_of(user)).count()


def assert_one_movement_rest_replayed_or_busy(responses):
    created = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r]
    replayed = [r for r in responses if r.status_code == 201 and r.get("Idempotent-Replayed") == "true"]
    busy = [r for r in responses if r.status_code == 409]
    assert len(created) == 1, [getattr(r, "status_code", r) for r in responses]
    assert len(created) + len(replayed) + len(busy) == len(responses)
    assert {r.json()["code"] for r in busy} <= {"idempotency_key_in_use"}
    assert all(r.json() == created[0].json() for r in replayed)


def test_twenty_identical_requests_move_money_once():
    user = UserFactory()
    token = token_pair_for(user=user).access

    responses = run_together(20, lambda i: deposit(token, "10.00", "same-key"))

    assert_one_movement_rest_replayed_or_busy(responses)
    assert (wallet_of(user).balance, deposits_of(user)) == (D("10.00"), 1)
    assert IdempotencyKey.objects.get(user=user, key="same-key").response_status == 201
    assert_ledger_consistent()


def test_same_key_with_different_amounts_moves_money_once():
    user = UserFactory()
    token = token_pair_for(user=user).access

    responses = run_together(10, lambda i: deposit(token, "5.00" if i % 2 else "7.00", "contested"))

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) >= 1
    winners = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r]
    assert len(winners) == 1
    winning_amount = winners[0].json()["amount"]
    for response in responses:
        if response.status_code == 422:
            assert response.json()["code"] == "idempotency_key_reused"
        elif response.status_code == 409:
            assert response.json()["code"] == "idempotency_key_in_use"
        else:
            assert (response.status_code, response.json()["amount"]) == (201, winning_amount)
    assert deposits_of(user) == 1
    assert wallet_of(user).balance == D(winning_amount)


def test_same_key_from_two_users_moves_money_for_each():
    alice, bob = UserFactory(), UserFactory()
    tokens = [token_pair_for(user=alice).access, token_pair_for(user=bob).access]

    responses = run_together(20, lambda i: deposit(tokens[i % 2], "3.00", "shared-key"))

    assert_one_movement_rest_replayed_or_busy(responses[0::2])
    assert_one_movement_rest_replayed_or_busy(responses[1::2])
    assert (wallet_of(alice).balance, wallet_of(bob).balance) == (D("3.00"), D("3.00"))
    assert_ledger_consistent()


def _stale_claim(user, key: str, amount: str) -> None:
    body_hash = hashlib.sha256(f'{{"amount":"{amount}"}}'.encode()).hexdigest()
    _claim(user=user, key=key, fingerprint=_Fingerprint("POST", DEPOSIT, body_hash))
    IdempotencyKey.objects.filter(user=user, key=key).update(locked_at=timezone.now() - timedelta(hours=1))


def test_a_stale_claim_is_taken_over_exactly_once():
    user = UserFactory()
    token = token_pair_for(user=user).access
    _stale_claim(user, "crashed", "8.00")

    responses = run_together(10, lambda i: deposit(token, "8.00", "crashed"))

    assert_one_movement_rest_replayed_or_busy(responses)
    assert (wallet_of(user).balance, deposits_of(user)) == (D("8.00"), 1)


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_slow_request_whose_claim_was_taken_over_cannot_complete():
    """The fencing token: a request still alive after its claim went stale rolls its movement back.

    The wallet row is held locked so that request A (the original) and B (a retry
    that takes over A's claim after it looks stale) both wait inside the money
    movement; when the lock is released both move money, but only the owner of the
    claim may commit.
    """
    user = UserFactory()
    token = token_pair_for(user=user).access
    wallet_id = wallet_of(user).id
    locked, release = threading.Event(), threading.Event()
    results: dict = {}

    def hold_wallet_lock():
        try:
            with transaction.atomic():
                Wallet.objects.select_for_update().get(id=wallet_id)
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    def request(name: str):
        try:
            results[name] = deposit(token, "9.00", "slow")
        finally:
            connection.close()

    holder = threading.Thread(target=hold_wallet_lock)
    holder.start()
    assert locked.wait(timeout=20)

    first = threading.Thread(target=request, args=("original",))
    first.start()
    _wait_for(lambda: _waiting_on_locks() == 1)
    # The original looks dead from outside: its claim is older than the lock timeout.
    IdempotencyKey.objects.filter(user=user, key="slow").update(locked_at=timezone.now() - timedelta(hours=1))

    second = threading.Thread(target=request, args=("retry",))
    second.start()
    _wait_for(lambda: _waiting_on_locks() == 2)

    release.set()
    for thread in (holder, first, second):
        thread.join(timeout=60)

    assert (results["original"].status_code, results["original"].json()["code"]) == (409, "idempotency_key_in_use")
    assert results["retry"].status_code == 201
    assert (wallet_of(user).balance, deposits_of(user)) == (D("9.00"), 1)
    replay = deposit(token, "9.00", "slow")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert replay.json() == results["retry"].json()
    assert_ledger_consistent()
