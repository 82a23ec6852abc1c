import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models.signals import post_save

from accounts.models import User
from accounts.tests.factories import MerchantFactory, UserFactory
from wallets import services
from wallets.exceptions import (
    AdjustmentReasonRequired,
    AmountAboveMaximum,
    AmountBelowMinimum,
    InsufficientFunds,
    InvalidAmount,
    WalletFrozen,
)
from wallets.locks import wallets_lock
from wallets.models import (
    SYSTEM_WALLET_IDS,
    EntryType,
    Journal,
    JournalKind,
    LedgerEntry,
    Wallet,
    WalletKind,
)
from wallets.services import Leg, ledger_post, system_wallet
from wallets.tests.factories import assert_ledger_consistent, fund_wallet, post_legs, wallet_of

pytestmark = pytest.mark.django_db

D = Decimal


# --- wallets come with accounts ------------------------------------------------


def test_every_new_user_gets_exactly_one_empty_wallet(user):
    wallets = Wallet.objects.filter(user=user)
    assert wallets.count() == 1
    wallet = wallets.get()
    assert (wallet.kind, wallet.balance, wallet.currency) == (WalletKind.USER, D("0.00"), "USD")
    assert not wallet.is_frozen


def test_saving_a_user_again_creates_no_second_wallet(user):
    user.first_name = "Changed"
    user.save()
    assert Wallet.objects.filter(user=user).count() == 1


def test_register_creates_one_wallet_with_zero_balance(api_client):
    response = api_client.post(
        "/api/v1/auth/register", {"email": "new@example.com", "password": "a-long-pass-phrase"}, format="json"
    )
    assert response.status_code == 201
    wallet = Wallet.objects.get(user__email="new@example.com")
    assert wallet.balance == D("0.00")
    assert Wallet.objects.filter(user__email="new@example.com").count() == 1


def test_failed_registration_creates_no_wallet(api_client, user):
    wallets_before = Wallet.objects.count()
    register = "/api/v1/auth/register"
    taken = api_client.post(register, {"email": user.email, "password": "a-long-pass-phrase"}, format="json")
    weak = api_client.post(register, {"email": "weak@example.com", "password": "123"}, format="json")
    assert (taken.status_code, taken.json()["code"]) == (409, "email_taken")
    assert (weak.status_code, weak.json()["code"]) == (400, "validation_error")
    assert Wallet.objects.count() == wallets_before


def test_wallet_is_created_in_the_accounts_transaction(api_client):
    """A failure after the wallet insert rolls back the account and its wallet together."""

    def fail_after_wallet(sender, instance, created, **kwargs):
        raise RuntimeError("simulated failure after the wallet was created")

    post_save.connect(fail_after_wallet, sender=User, dispatch_uid="test-fail-after-wallet")
    try:
        response = api_client.post(
            "/api/v1/auth/register", {"email": "doomed@example.com", "password": "a-long-pass-phrase"}, format="json"
        )
    finally:
        post_save.disconnect(dispatch_uid="test-fail-after-wallet", sender=User)
    assert response.status_code == 500
    assert not User.objects.filter(email="doomed@example.com").exists()
    assert not Wallet.objects.filter(user__email="doomed@example.com").exists()


# --- system accounts -----------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in WalletKind if k != WalletKind.USER])
def test_system_accounts_exist_with_fixed_ids(kind):
    wallet = Wallet.objects.get(id=SYSTEM_WALLET_IDS[kind])
    assert (wallet.kind, wallet.user_id, wallet.balance) == (kind, None, 0)


def test_system_wallet_names_the_row_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        wallet = system_wallet(kind=WalletKind.EXTERNAL)
    assert (wallet.id, wallet.kind) == (SYSTEM_WALLET_IDS[WalletKind.EXTERNAL], WalletKind.EXTERNAL)


def test_system_wallet_rejects_user_kind():
    with pytest.raises(ValueError):
        system_wallet(kind=WalletKind.USER)


# --- deposit / withdraw --------------------------------------------------------


def test_deposit_posts_a_balanced_journal_against_external_funds(user):
    entry = services.wallet_deposit(user=user, amount=D("100.50"), description="Top-up")

    assert (entry.type, entry.amount, entry.balance_before, entry.balance_after, entry.sequence) == (
        EntryType.DEPOSIT,
        D("100.50"),
        D("0.00"),
        D("100.50"),
        1,
    )
    assert entry.description == "Top-up"
    journal = Journal.objects.get(id=entry.journal_id)
    assert journal.kind == JournalKind.DEPOSIT
    external_leg = journal.entries.get(wallet_id=SYSTEM_WALLET_IDS[WalletKind.EXTERNAL])
    assert (external_leg.amount, external_leg.balance_before, external_leg.sequence) == (D("-100.50"), None, None)
    assert wallet_of(user).balance == D("100.50")
    assert Wallet.objects.get(id=SYSTEM_WALLET_IDS[WalletKind.EXTERNAL]).balance == 0
    assert_ledger_consistent()


def test_withdraw_debits_and_returns_negative_entry(user):
    fund_wallet(user, "100.00")
    entry = services.wallet_withdraw(user=user, amount=D("30.25"))
    assert (entry.type, entry.amount, entry.balance_before, entry.balance_after, entry.sequence) == (
        EntryType.WITHDRAWAL,
        D("-30.25"),
        D("100.00"),
        D("69.75"),
        2,
    )
    assert wallet_of(user).balance == D("69.75")
    assert_ledger_consistent()


def test_withdraw_whole_balance_leaves_zero(user):
    fund_wallet(user, "42.42")
    services.wallet_withdraw(user=user, amount=D("42.42"))
    assert wallet_of(user).balance == D("0.00")


def test_withdraw_more_than_balance_is_refused_and_changes_nothing(user):
    fund_wallet(user, "20.00")
    with pytest.raises(InsufficientFunds) as exc_info:
        services.wallet_withdraw(user=user, amount=D("50.00"))
    assert exc_info.value.code == "insufficient_funds"
    assert "20.00" in exc_info.value.detail and "50.00" in exc_info.value.detail
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.entry_count) == (D("20.00"), 1)
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 1


@pytest.mark.parametrize("amount", ["0.01", "9999.99", "10000.00"])
def test_deposit_limits_accept(user, amount):
    services.wallet_deposit(user=user, amount=D(amount))
    assert wallet_of(user).balance == D(amount)


def test_deposit_above_maximum(user, settings):
    with pytest.raises(AmountAboveMaximum):
        services.wallet_deposit(user=user, amount=D("10000.01"))
    settings.MAXIMUM_DEPOSIT = D("50.00")
    with pytest.raises(AmountAboveMaximum):
        services.wallet_deposit(user=user, amount=D("50.01"))
    assert wallet_of(user).entry_count == 0


def test_withdraw_below_minimum(user):
    fund_wallet(user, "10.00")
    with pytest.raises(AmountBelowMinimum):
        services.wallet_withdraw(user=user, amount=D("0.99"))
    services.wallet_withdraw(user=user, amount=D("1.00"))
    assert wallet_of(user).balance == D("9.00")


@pytest.mark.parametrize("amount", [D("0"), D("-5.00"), D("1.005"), D("NaN"), D("Infinity"), 1, 1.5, "10.00"])
def test_service_rejects_invalid_amounts(user, amount):
    with pytest.raises(InvalidAmount):
        services.wallet_deposit(user=user, amount=amount)
    with pytest.raises(InvalidAmount):
        services.wallet_withdraw(user=user, amount=amount)


def test_frozen_wallet_refuses_deposit_and_withdraw(user, staff_operator):
    fund_wallet(user, "50.00")
    services.wallet_freeze(wallet=wallet_of(user), operator=staff_operator)
    with pytest.raises(WalletFrozen):
        services.wallet_deposit(user=user, amount=D("10.00"))
    with pytest.raises(WalletFrozen):
        services.wallet_withdraw(user=user, amount=D("10.00"))
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.entry_count, wallet.is_frozen) == (D("50.00"), 1, True)

    services.wallet_unfreeze(wallet=wallet, operator=staff_operator)
    services.wallet_withdraw(user=user, amount=D("10.00"))
    assert wallet_of(user).balance == D("40.00")


# --- adjustments ---------------------------------------------------------------


@pytest.fixture
def staff_operator(db):
    return UserFactory(is_staff=True)


def test_adjustment_records_operator_and_reason(user, staff_operator):
    wallet = fund_wallet(user, "10.00")
    entry = services.wallet_adjust(wallet=wallet, amount=D("-4.00"), reason="Chargeback", operator=staff_operator)
    assert (entry.type, entry.amount, entry.balance_after, entry.description) == (
        EntryType.ADJUSTMENT,
        D("-4.00"),
        D("6.00"),
        "Chargeback",
    )
    journal = Journal.objects.get(id=entry.journal_id)
    assert (journal.kind, journal.created_by) == (JournalKind.ADJUSTMENT, staff_operator)
    assert journal.description == "Chargeback"
    assert journal.entries.get(wallet_id=SYSTEM_WALLET_IDS[WalletKind.ADJUSTMENTS]).amount == D("4.00")
    assert_ledger_consistent()


def test_adjustment_is_allowed_on_a_frozen_wallet(user, staff_operator):
    wallet = wallet_of(user)
    services.wallet_freeze(wallet=wallet, operator=staff_operator)
    services.wallet_adjust(wallet=wallet, amount=D("5.00"), reason="Goodwill", operator=staff_operator)
    assert wallet_of(user).balance == D("5.00")


def test_adjustment_cannot_go_below_zero(user, staff_operator):
    wallet = fund_wallet(user, "3.00")
    with pytest.raises(InsufficientFunds):
        services.wallet_adjust(wallet=wallet, amount=D("-3.01"), reason="Too much", operator=staff_operator)
    assert wallet_of(user).balance == D("3.00")


def test_adjustment_needs_a_reason_and_a_valid_amount(user, staff_operator):
    wallet = wallet_of(user)
    with pytest.raises(AdjustmentReasonRequired):
        services.wallet_adjust(wallet=wallet, amount=D("1.00"), reason="   ", operator=staff_operator)
    with pytest.raises(InvalidAmount):
        services.wallet_adjust(wallet=wallet, amount=D("0.00"), reason="Zero", operator=staff_operator)
    with pytest.raises(InvalidAmount):
        services.wallet_adjust(wallet=wallet, amount=D("0.001"), reason="Sub-cent", operator=staff_operator)
    assert wallet_of(user).entry_count == 0


# --- ledger_post, the general mover --------------------------------------------


def test_ledger_post_moves_money_between_users_and_platform(user):
    seller = MerchantFactory()
    fund_wallet(user, "100.00")
    order_id = uuid.uuid4()
    with transaction.atomic():
        wallets = wallets_lock(user_ids=[user.id, seller.id])
        posting = ledger_post(
            wallets=wallets,
            kind=JournalKind.PURCHASE,
            description="Order",
            order_id=order_id,
            legs=[
                Leg(wallet=wallets[user.id], amount=D("-25.00"), entry_type=EntryType.PURCHASE),
                Leg(wallet=wallets[seller.id], amount=D("22.50"), entry_type=EntryType.SALE),
                Leg(wallet=system_wallet(kind=WalletKind.PLATFORM_REVENUE), amount=D("2.50"), entry_type=EntryType.FEE),
            ],
        )

    assert [(e.type, e.amount, e.balance_after, e.sequence) for e in posting.entries] == [
        (EntryType.PURCHASE, D("-25.00"), D("75.00"), 2),
        (EntryType.SALE, D("22.50"), D("22.50"), 1),
        (EntryType.FEE, D("2.50"), None, None),
    ]
    assert all(e.order_id == order_id for e in LedgerEntry.objects.filter(journal=posting.journal))
    assert (wallets[user.id].balance, wallets[seller.id].balance) == (D("75.00"), D("22.50"))
    assert (wallet_of(user).balance, wallet_of(seller).balance) == (D("75.00"), D("22.50"))
    assert Wallet.objects.get(id=SYSTEM_WALLET_IDS[WalletKind.PLATFORM_REVENUE]).balance == 0
    assert_ledger_consistent()


def sale_between(wallets, buyer, seller, amount="5.00") -> list[Leg]:
    return [
        Leg(wallet=wallets.get(buyer.id) or wallet_of(buyer), amount=-D(amount), entry_type=EntryType.PURCHASE),
        Leg(wallet=wallets.get(seller.id) or wallet_of(seller), amount=D(amount), entry_type=EntryType.SALE),
    ]


def test_ledger_post_writes_three_statements_inside_the_callers_lock(user, django_assert_num_queries):
    """Journal insert, one UPDATE for both wallets, one bulk insert of the entries."""
    seller = MerchantFactory()
    fund_wallet(user, "10.00")
    with transaction.atomic():
        wallets = wallets_lock(user_ids=[user.id, seller.id])
        with django_assert_num_queries(3):
            posting = ledger_post(wallets=wallets, kind=JournalKind.PURCHASE, legs=sale_between(wallets, user, seller))

    assert len(posting.entries) == 2
    assert (wallet_of(user).balance, wallet_of(seller).balance) == (D("5.00"), D("5.00"))
    assert_ledger_consistent()


def test_ledger_post_refuses_an_unlocked_party(user):
    seller = MerchantFactory()
    fund_wallet(user, "10.00")
    with transaction.atomic():
        wallets = wallets_lock(user_ids=[user.id])
        with pytest.raises(ValueError, match="not among the locked wallets"):
            ledger_post(wallets=wallets, kind=JournalKind.PURCHASE, legs=sale_between(wallets, user, seller))
    assert wallet_of(seller).balance == D("0.00")


@pytest.mark.django_db(transaction=True)
def test_ledger_post_needs_the_callers_transaction(user):
    seller = MerchantFactory()
    fund_wallet(user, "10.00")
    with transaction.atomic():
        wallets = wallets_lock(user_ids=[user.id, seller.id])
    with pytest.raises(RuntimeError, match="inside the transaction"):
        ledger_post(wallets=wallets, kind=JournalKind.PURCHASE, legs=sale_between(wallets, user, seller))
    assert wallet_of(user).balance == D("10.00")


@pytest.mark.django_db(transaction=True)
def test_wallets_can_only_be_locked_inside_a_transaction(user):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        wallets_lock(user_ids=[user.id])


def test_a_ledger_post_failure_dooms_the_callers_transaction(user):
    seller = MerchantFactory()
    fund_wallet(user, "1.00")
    journals_before = Journal.objects.count()
    with pytest.raises(InsufficientFunds), transaction.atomic():
        wallets = wallets_lock(user_ids=[user.id, seller.id])
        ledger_post(wallets=wallets, kind=JournalKind.PURCHASE, legs=sale_between(wallets, user, seller))
    assert Journal.objects.count() == journals_before
    assert (wallet_of(user).balance, wallet_of(seller).balance) == (D("1.00"), D("0.00"))


def test_ledger_post_same_wallet_twice_chains_sequences(user):
    fund_wallet(user, "10.00")
    wallet = wallet_of(user)
    external = system_wallet(kind=WalletKind.EXTERNAL)
    posting = post_legs(
        kind=JournalKind.ADJUSTMENT,
        legs=[
            Leg(wallet=wallet, amount=D("-10.00"), entry_type=EntryType.ADJUSTMENT),
            Leg(wallet=wallet, amount=D("3.00"), entry_type=EntryType.ADJUSTMENT),
            Leg(wallet=external, amount=D("7.00"), entry_type=EntryType.ADJUSTMENT),
        ],
    )
    assert [(e.balance_before, e.balance_after, e.sequence) for e in posting.entries][:2] == [
        (D("10.00"), D("0.00"), 2),
        (D("0.00"), D("3.00"), 3),
    ]
    assert_ledger_consistent()


def test_ledger_post_refuses_a_frozen_party_unless_allowed(user, staff_operator):
    seller = MerchantFactory()
    fund_wallet(user, "10.00")
    services.wallet_freeze(wallet=wallet_of(seller), operator=staff_operator)

    def legs():
        return [
            Leg(wallet=wallet_of(user), amount=D("-5.00"), entry_type=EntryType.PURCHASE),
            Leg(wallet=wallet_of(seller), amount=D("5.00"), entry_type=EntryType.SALE),
        ]

    with pytest.raises(WalletFrozen):
        post_legs(kind=JournalKind.PURCHASE, legs=legs())
    assert wallet_of(user).balance == D("10.00")
    post_legs(kind=JournalKind.PURCHASE, legs=legs(), allow_frozen=True)
    assert wallet_of(seller).balance == D("5.00")


@pytest.mark.parametrize(
    ("amounts", "error"),
    [
        ([D("5.00"), D("-4.99")], ValueError),  # does not sum to zero
        ([D("0.00"), D("0.00")], ValueError),  # zero legs
        ([D("0.005"), D("-0.005")], ValueError),  # sub-cent
        ([5.0, -5.0], TypeError),  # floats
        ([D("5.00")], ValueError),  # a single leg
    ],
)
def test_ledger_post_rejects_malformed_legs(user, amounts, error):
    wallet, external = wallet_of(user), system_wallet(kind=WalletKind.EXTERNAL)
    wallets = [wallet, external]
    legs = [Leg(wallet=wallets[i], amount=a, entry_type=EntryType.DEPOSIT) for i, a in enumerate(amounts)]
    with pytest.raises(error):
        post_legs(kind=JournalKind.DEPOSIT, legs=legs)
    assert Journal.objects.count() == 0


def test_ledger_post_rejects_unknown_kinds_and_types(user):
    wallet, external = wallet_of(user), system_wallet(kind=WalletKind.EXTERNAL)
    with pytest.raises(ValueError):
        post_legs(
            kind="GIFT",
            legs=[
                Leg(wallet=wallet, amount=D("1.00"), entry_type=EntryType.DEPOSIT),
                Leg(wallet=external, amount=D("-1.00"), entry_type=EntryType.DEPOSIT),
            ],
        )
    with pytest.raises(ValueError):
        post_legs(
            kind=JournalKind.DEPOSIT,
            legs=[
                Leg(wallet=wallet, amount=D("1.00"), entry_type="BONUS"),
                Leg(wallet=external, amount=D("-1.00"), entry_type=EntryType.DEPOSIT),
            ],
        )


def test_wallets_lock_returns_wallets_by_user(user):
    merchant = MerchantFactory()
    with transaction.atomic():
        locked = wallets_lock(user_ids=[merchant.id, user.id])
    assert set(locked) == {user.id, merchant.id}
    assert locked[user.id] == wallet_of(user)
    assert locked.by_wallet_id(wallet_of(merchant).id) == wallet_of(merchant)


def test_wallets_lock_refuses_a_user_without_a_wallet(user):
    with transaction.atomic(), pytest.raises(Wallet.DoesNotExist):
        wallets_lock(user_ids=[user.id, uuid.uuid4()])


def test_a_refused_post_leaves_the_callers_wallet_objects_as_they_were(user):
    """A caller that catches the error and posts again with the same objects starts from the true balance."""
    payer = MerchantFactory()
    fund_wallet(user, "10.00")
    with transaction.atomic():
        locked = wallets_lock(user_ids=[user.id, payer.id])
        credit_first = [
            Leg(wallet=locked[user.id], amount=D("5.00"), entry_type=EntryType.SALE),
            Leg(wallet=locked[payer.id], amount=D("-5.00"), entry_type=EntryType.PURCHASE),
        ]
        with pytest.raises(InsufficientFunds), transaction.atomic():
            ledger_post(wallets=locked, kind=JournalKind.PURCHASE, legs=credit_first)
        assert (locked[user.id].balance, locked[user.id].entry_count) == (D("10.00"), 1)

        external = system_wallet(kind=WalletKind.EXTERNAL)
        ledger_post(
            wallets=locked,
            kind=JournalKind.DEPOSIT,
            legs=[
                Leg(wallet=locked[user.id], amount=D("1.00"), entry_type=EntryType.DEPOSIT),
                Leg(wallet=external, amount=D("-1.00"), entry_type=EntryType.DEPOSIT),
            ],
        )

    assert wallet_of(user).balance == D("11.00")
    assert_ledger_consistent()
