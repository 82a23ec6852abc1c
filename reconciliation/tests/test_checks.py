"""The ledger checks: each catches a planted discrepancy and names it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.tests.factories import UserFactory
from reconciliation.checks import LEDGER_CHECKS
from reconciliation.checks.base import EXAMPLE_LIMIT, read_only_snapshot
from reconciliation.checks.ledger import (
    check_balance_chains,
    check_journal_sums,
    check_ledger_sum,
    check_negative_balances,
    check_wallet_balances,
)
from reconciliation.tests.helpers import ledger_triggers_disabled
from wallets.models import SYSTEM_WALLET_IDS, EntryType, Journal, JournalKind, LedgerEntry, Wallet, WalletKind
from wallets.services import Leg, system_wallet, wallet_deposit, wallet_withdraw
from wallets.tests.factories import post_legs, wallet_of

pytestmark = pytest.mark.django_db

D = Decimal


def transfer(payer, payee, amount: str) -> Journal:
    """Post a two-leg movement between two user wallets (the shape of a sale without fee)."""
    return post_legs(
        kind=JournalKind.PURCHASE,
        legs=[
            Leg(wallet=wallet_of(payer), amount=-D(amount), entry_type=EntryType.PURCHASE),
            Leg(wallet=wallet_of(payee), amount=D(amount), entry_type=EntryType.SALE),
        ],
    ).journal


def entries_of(user) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(wallet=wallet_of(user)).order_by("sequence"))


def entry_below_zero(user) -> LedgerEntry:
    """Append to the user's wallet an entry that takes it to -1.00 (the services would refuse it)."""
    wallet = wallet_of(user)
    return LedgerEntry.objects.create(
        journal=Journal.objects.create(kind=JournalKind.ADJUSTMENT),
        wallet=wallet,
        type=EntryType.ADJUSTMENT,
        amount=-(wallet.balance + 1),
        balance_before=wallet.balance,
        balance_after=D("-1.00"),
        sequence=wallet.entry_count + 1,
    )


@pytest.fixture
def alice_and_bob():
    """Two users with a few movements each: deposits, a withdrawal, transfers both ways."""
    alice, bob = UserFactory(), UserFactory()
    wallet_deposit(user=alice, amount=D("100.00"))
    wallet_deposit(user=bob, amount=D("20.10"))
    transfer(alice, bob, "30.25")
    wallet_withdraw(user=bob, amount=D("5.00"))
    transfer(bob, alice, "0.35")
    return alice, bob


def test_a_clean_ledger_passes_every_check(alice_and_bob):
    results = [check.run() for check in LEDGER_CHECKS]

    assert [(result.name, result.count, result.examples) for result in results] == [
        (check.name, 0, ()) for check in LEDGER_CHECKS
    ]
    assert all(result.ok for result in results)


def test_an_empty_ledger_passes_every_check(db):
    assert all(check.run().ok for check in LEDGER_CHECKS)


class TestWalletBalances:
    def test_a_tampered_balance_names_the_wallet(self, alice_and_bob):
        _, bob = alice_and_bob
        Wallet.objects.filter(user=bob).update(balance=F("balance") + D("0.01"))

        result = check_wallet_balances()

        assert (result.ok, result.count, result.examples) == (False, 1, (str(wallet_of(bob).id),))
        assert result.entity == "wallet"

    def test_an_entry_count_that_is_not_the_last_sequence(self, alice_and_bob):
        alice, _ = alice_and_bob
        Wallet.objects.filter(user=alice).update(entry_count=F("entry_count") + 1)

        assert check_wallet_balances().examples == (str(wallet_of(alice).id),)

    def test_a_balance_on_a_system_account_row(self, alice_and_bob):
        external = system_wallet(kind=WalletKind.EXTERNAL)
        Wallet.objects.filter(id=external.id).update(balance=D("1.00"))

        assert check_wallet_balances().examples == (str(external.id),)

    def test_a_wallet_whose_sum_and_last_balance_disagree(self, alice_and_bob):
        # Sum and balance agree (both +1), but the last entry's balance_after does not.
        alice, _ = alice_and_bob
        last = entries_of(alice)[-1]
        with ledger_triggers_disabled(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE wallets_ledgerentry SET amount = amount + 1, balance_before = balance_before + 1, "
                "balance_after = balance_after + 2 WHERE id = %s",
                [last.id],
            )
        Wallet.objects.filter(user=alice).update(balance=F("balance") + 1)

        assert check_wallet_balances().examples == (str(wallet_of(alice).id),)

    def test_counts_every_offender_but_names_only_the_first_ten(self, db):
        users = [UserFactory() for _ in range(EXAMPLE_LIMIT + 2)]
        for user in users:
            wallet_deposit(user=user, amount=D("1.00"))
        Wallet.objects.filter(kind=WalletKind.USER).update(balance=D("9.99"))

        result = check_wallet_balances()

        wallet_ids = sorted(str(wallet_of(user).id) for user in users)
        assert result.count == EXAMPLE_LIMIT + 2
        assert list(result.examples) == wallet_ids[:EXAMPLE_LIMIT]


class TestLedgerAndJournalSums:
    def test_a_deleted_leg_unbalances_its_journal_and_the_ledger(self, alice_and_bob):
        alice, _ = alice_and_bob
        deposit = LedgerEntry.objects.get(wallet=wallet_of(alice), sequence=1)
        external_leg = deposit.journal.entries.get(wallet_id=SYSTEM_WALLET_IDS[WalletKind.EXTERNAL])
        with ledger_triggers_disabled():
            LedgerEntry.objects.filter(id=external_leg.id).delete()

        journals, ledger = check_journal_sums(), check_ledger_sum()

        assert (journals.count, journals.examples, journals.entity) == (1, (str(deposit.journal_id),), "journal")
        assert (ledger.ok, ledger.count, ledger.examples) == (False, 1, ())
        assert "100.00" in ledger.detail
        # Only a system account lost an entry: user balances still match their entries.
        assert check_wallet_balances().ok

    def test_a_journal_without_entries(self, alice_and_bob):
        empty = Journal.objects.create(kind=JournalKind.ADJUSTMENT, description="no legs")

        assert check_journal_sums().examples == (str(empty.id),)
        assert check_ledger_sum().ok

    def test_a_one_legged_journal_even_if_it_nets_to_zero_elsewhere(self, alice_and_bob):
        # Two single legs of +5 and -5 in two journals: the ledger sums to zero, each journal does not.
        first = Journal.objects.create(kind=JournalKind.ADJUSTMENT)
        second = Journal.objects.create(kind=JournalKind.ADJUSTMENT)
        for journal, amount in ((first, D("5.00")), (second, D("-5.00"))):
            LedgerEntry.objects.create(
                journal=journal,
                wallet=system_wallet(kind=WalletKind.ADJUSTMENTS),
                type=EntryType.ADJUSTMENT,
                amount=amount,
            )

        assert set(check_journal_sums().examples) == {str(first.id), str(second.id)}
        assert check_ledger_sum().ok


class TestNegativeBalances:
    def test_an_entry_below_zero_is_named(self, alice_and_bob):
        alice, _ = alice_and_bob
        below = entry_below_zero(alice)

        result = check_negative_balances()

        assert (result.count, result.examples, result.entity) == (1, (str(below.id),), "ledger_entry")

    def test_system_accounts_are_not_judged(self, alice_and_bob):
        # The external account is negative by design: it is where deposits come from.
        assert check_negative_balances().ok


class TestBalanceChains:
    def test_a_deleted_entry_breaks_the_chain_of_the_next_one(self, alice_and_bob):
        alice, _ = alice_and_bob
        _, second, third = entries_of(alice)
        with ledger_triggers_disabled():
            LedgerEntry.objects.filter(id=second.id).delete()

        result = check_balance_chains()

        assert (result.count, result.examples, result.entity) == (1, (str(third.id),), "ledger_entry")

    def test_a_sequence_gap_with_matching_balances(self, alice_and_bob):
        alice, _ = alice_and_bob
        last = entries_of(alice)[-1]
        with ledger_triggers_disabled():
            LedgerEntry.objects.filter(id=last.id).update(sequence=F("sequence") + 1)

        assert check_balance_chains().examples == (str(last.id),)

    def test_a_balance_before_that_is_not_the_previous_balance_after(self, alice_and_bob):
        # Shifted by one: the link into the entry and the link out of it are both broken.
        _, bob = alice_and_bob
        _, second, third, *_ = entries_of(bob)
        with ledger_triggers_disabled():
            LedgerEntry.objects.filter(id=second.id).update(
                balance_before=F("balance_before") + 1, balance_after=F("balance_after") + 1
            )

        result = check_balance_chains()

        assert (result.count, set(result.examples)) == (2, {str(second.id), str(third.id)})

    def test_a_first_entry_that_does_not_start_from_zero(self, alice_and_bob):
        alice, _ = alice_and_bob
        first, second, _ = entries_of(alice)
        with ledger_triggers_disabled():
            LedgerEntry.objects.filter(id=first.id).update(balance_before=D("1.00"), balance_after=F("amount") + 1)

        assert set(check_balance_chains().examples) == {str(first.id), str(second.id)}

    def test_a_user_entry_without_a_sequence(self, alice_and_bob):
        alice, _ = alice_and_bob
        journal = Journal.objects.create(kind=JournalKind.ADJUSTMENT)
        stray = LedgerEntry.objects.create(
            journal=journal, wallet=wallet_of(alice), type=EntryType.ADJUSTMENT, amount=D("1.00")
        )

        assert check_balance_chains().examples == (str(stray.id),)


class TestSince:
    def test_only_journals_and_entries_of_the_window_are_judged(self, alice_and_bob):
        alice, bob = alice_and_bob
        old_empty = Journal.objects.create(kind=JournalKind.ADJUSTMENT)
        since = timezone.now()
        transfer(alice, bob, "1.00")

        assert check_journal_sums(since=since).ok
        assert check_journal_sums().examples == (str(old_empty.id),)

        new_empty = Journal.objects.create(kind=JournalKind.ADJUSTMENT)
        assert check_journal_sums(since=since).examples == (str(new_empty.id),)

    def test_the_first_entry_of_the_window_is_chained_to_the_one_before_it(self, alice_and_bob):
        alice, _ = alice_and_bob
        before_window = entries_of(alice)[-1]
        since = timezone.now()
        wallet_deposit(user=alice, amount=D("1.00"))
        in_window = entries_of(alice)[-1]
        with ledger_triggers_disabled():
            LedgerEntry.objects.filter(id=before_window.id).delete()

        assert check_balance_chains(since=since).examples == (str(in_window.id),)

    def test_a_broken_link_before_the_window_is_not_judged(self, alice_and_bob):
        alice, _ = alice_and_bob
        _, second, third = entries_of(alice)
        with ledger_triggers_disabled():
            LedgerEntry.objects.filter(id=second.id).delete()
        since = timezone.now()
        wallet_deposit(user=alice, amount=D("1.00"))

        assert check_balance_chains(since=since).ok
        assert check_balance_chains().examples == (str(third.id),)

    def test_negative_entries_before_the_window_are_not_judged(self, alice_and_bob):
        alice, _ = alice_and_bob
        entry_below_zero(alice)

        assert check_negative_balances(since=timezone.now() + timedelta(seconds=1)).ok
        assert check_negative_balances(since=timezone.now() - timedelta(hours=1)).count == 1

    def test_balances_are_always_checked_in_full(self, alice_and_bob):
        alice, _ = alice_and_bob
        Wallet.objects.filter(user=alice).update(balance=F("balance") + 1)

        assert check_wallet_balances(since=timezone.now()).count == 1


@pytest.mark.django_db(transaction=True)
def test_the_snapshot_refuses_writes_and_sees_one_instant():
    user = UserFactory()
    wallet_deposit(user=user, amount=D("10.00"))

    with read_only_snapshot():
        assert check_wallet_balances().ok
        with pytest.raises(DatabaseError, match="read-only transaction"), transaction.atomic():
            Wallet.objects.filter(user=user).update(balance=0)
