"""The database itself keeps the ledger honest: triggers and CHECK constraints, not only Python."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError

from wallets.models import SYSTEM_WALLET_IDS, EntryType, Journal, JournalKind, LedgerEntry, Wallet, WalletKind
from wallets.tests.factories import fund_wallet, wallet_of

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def entry(user):
    fund_wallet(user, "100.00")
    return LedgerEntry.objects.get(wallet=wallet_of(user))


def raw(sql: str, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE wallets_ledgerentry SET amount = 1000000 WHERE id = %s",
        "UPDATE wallets_ledgerentry SET description = 'edited' WHERE id = %s",
        "DELETE FROM wallets_ledgerentry WHERE id = %s",
    ],
)
def test_raw_sql_cannot_change_or_delete_an_entry(entry, sql):
    with pytest.raises(IntegrityError, match="immutable"):
        raw(sql, [entry.id])
    entry_after = LedgerEntry.objects.get(id=entry.id)
    assert (entry_after.amount, entry_after.description) == (D("100.00"), entry.description)


@pytest.mark.parametrize(
    "sql",
    ["UPDATE wallets_journal SET description = 'edited' WHERE id = %s", "DELETE FROM wallets_journal WHERE id = %s"],
)
def test_raw_sql_cannot_change_or_delete_a_journal(entry, sql):
    with pytest.raises(IntegrityError, match="immutable"):
        raw(sql, [entry.journal_id])
    assert Journal.objects.filter(id=entry.journal_id).exists()


def test_the_orm_cannot_change_or_delete_entries_either(entry):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(id=entry.id).update(amount=F("amount") * 2)
    entry.description = "edited"
    with pytest.raises(IntegrityError), transaction.atomic():
        entry.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(id=entry.id).delete()
    assert LedgerEntry.objects.get(id=entry.id).description == "Test funding"


def test_user_balance_cannot_go_negative_in_the_database(user):
    with pytest.raises(IntegrityError, match="wallet_user_balance_non_negative"), transaction.atomic():
        Wallet.objects.filter(user=user).update(balance=D("-0.01"))
    assert wallet_of(user).balance == D("0.00")


def test_an_entry_must_chain_its_balances(user):
    wallet = wallet_of(user)
    journal = Journal.objects.create(kind=JournalKind.DEPOSIT)
    bad = {"balance_before": D("0.00"), "balance_after": D("5.00"), "sequence": 1}
    with pytest.raises(IntegrityError, match="entry_balance_chain"), transaction.atomic():
        LedgerEntry.objects.create(journal=journal, wallet=wallet, type=EntryType.DEPOSIT, amount=D("4.00"), **bad)


def test_an_entry_amount_is_never_zero(user):
    journal = Journal.objects.create(kind=JournalKind.DEPOSIT)
    with pytest.raises(IntegrityError, match="entry_amount_non_zero"), transaction.atomic():
        LedgerEntry.objects.create(
            journal=journal, wallet_id=SYSTEM_WALLET_IDS[WalletKind.EXTERNAL], type=EntryType.DEPOSIT, amount=0
        )


def test_sequences_are_unique_per_wallet(entry):
    journal = Journal.objects.create(kind=JournalKind.DEPOSIT)
    duplicate = {"balance_before": D("100.00"), "balance_after": D("101.00"), "sequence": entry.sequence}
    with pytest.raises(IntegrityError, match="entry_unique_wallet_sequence"), transaction.atomic():
        LedgerEntry.objects.create(
            journal=journal, wallet_id=entry.wallet_id, type=EntryType.DEPOSIT, amount=D("1.00"), **duplicate
        )


def test_system_accounts_are_one_per_kind_and_have_no_user(user):
    with pytest.raises(IntegrityError, match="wallet_one_account_per_system_kind"), transaction.atomic():
        Wallet.objects.create(kind=WalletKind.EXTERNAL)
    with pytest.raises(IntegrityError, match="wallet_user_iff_user_kind"), transaction.atomic():
        Wallet.objects.create(kind=WalletKind.USER, id=uuid.uuid4())
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.create(kind=WalletKind.USER, user=user)


def test_a_wallet_with_history_cannot_be_deleted(entry):
    with pytest.raises(ProtectedError), transaction.atomic():
        Wallet.objects.get(id=entry.wallet_id).delete()
