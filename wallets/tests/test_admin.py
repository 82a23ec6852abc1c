"""The operators' back office: freeze/unfreeze through the services, money rows read-only."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.tests.factories import UserFactory
from wallets.models import EntryType, Journal, JournalKind, LedgerEntry, Wallet, WalletKind
from wallets.services import wallet_freeze
from wallets.tests.factories import assert_ledger_consistent, fund_wallet, wallet_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def funded_user(user):
    fund_wallet(user, "25.00")
    return user


@pytest.mark.parametrize("url", ["/admin/wallets/wallet/", "/admin/wallets/journal/", "/admin/wallets/ledgerentry/"])
def test_changelists_render(operator_client, funded_user, url):
    assert operator_client.get(url).status_code == 200


def test_freeze_and_unfreeze_actions(operator_client, funded_user):
    wallet = wallet_of(funded_user)
    response = operator_client.post(
        "/admin/wallets/wallet/", {"action": "freeze", "_selected_action": [str(wallet.id)]}, follow=True
    )
    assert response.status_code == 200
    assert wallet_of(funded_user).is_frozen
    operator_client.post("/admin/wallets/wallet/", {"action": "unfreeze", "_selected_action": [str(wallet.id)]})
    assert not wallet_of(funded_user).is_frozen


def test_system_accounts_are_skipped_by_freeze(operator_client, funded_user):
    external = Wallet.objects.get(kind=WalletKind.EXTERNAL)
    operator_client.post("/admin/wallets/wallet/", {"action": "freeze", "_selected_action": [str(external.id)]})
    assert not Wallet.objects.get(id=external.id).is_frozen


def test_wallet_form_is_view_only(operator_client, funded_user):
    wallet = wallet_of(funded_user)
    url = f"/admin/wallets/wallet/{wallet.id}/change/"
    assert operator_client.get(url).status_code == 200
    assert operator_client.post(url, {"balance": "1000000.00", "is_frozen": "on"}).status_code == 403
    assert wallet_of(funded_user).balance == Decimal("25.00")


@pytest.mark.parametrize("model", ["wallet", "journal", "ledgerentry"])
def test_nothing_can_be_added_or_deleted(operator_client, funded_user, model):
    assert operator_client.get(f"/admin/wallets/{model}/add/").status_code == 403
    obj = {
        "wallet": wallet_of(funded_user),
        "journal": Journal.objects.first(),
        "ledgerentry": LedgerEntry.objects.first(),
    }[model]
    assert operator_client.post(f"/admin/wallets/{model}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.count() == 2


def test_no_delete_action_anywhere(operator_client, funded_user):
    for model in ("wallet", "journal", "ledgerentry"):
        assert b"delete_selected" not in operator_client.get(f"/admin/wallets/{model}/").content


def test_journals_are_searchable_by_owner_email_and_id(operator_client, funded_user):
    journal = Journal.objects.get()
    other = UserFactory()
    fund_wallet(other, "1.00")
    by_email = operator_client.get("/admin/wallets/journal/", {"q": funded_user.email})
    assert by_email.context["cl"].result_count == 1
    by_id = operator_client.get("/admin/wallets/journal/", {"q": str(journal.id)})
    assert list(by_id.context["cl"].result_list) == [journal]
    assert operator_client.get("/admin/wallets/journal/", {"q": "not-a-uuid"}).status_code == 200


def test_journal_shows_its_entries_inline(operator_client, funded_user):
    journal = Journal.objects.get()
    response = operator_client.get(f"/admin/wallets/journal/{journal.id}/change/")
    assert response.status_code == 200
    assert b"25.00" in response.content and b"-25.00" in response.content


def test_entries_are_searchable_by_order_id_and_owner(operator_client, funded_user):
    entry = LedgerEntry.objects.get(wallet=wallet_of(funded_user))
    response = operator_client.get("/admin/wallets/ledgerentry/", {"q": funded_user.email})
    assert list(response.context["cl"].result_list) == [entry]
    response = operator_client.get("/admin/wallets/ledgerentry/", {"q": str(entry.id)})
    assert list(response.context["cl"].result_list) == [entry]


# --- manual adjustments ---------------------------------------------------------------


def adjust_url(wallet) -> str:
    return f"/admin/wallets/wallet/{wallet.id}/adjust/"


@pytest.fixture
def operator():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def adjusting_client(operator):
    client = Client()
    client.force_login(operator)
    return client


def test_the_wallet_page_links_to_the_adjustment_form(adjusting_client, funded_user):
    wallet = wallet_of(funded_user)

    page = adjusting_client.get(f"/admin/wallets/wallet/{wallet.id}/change/")
    form = adjusting_client.get(adjust_url(wallet))

    assert adjust_url(wallet).encode() in page.content
    assert form.status_code == 200
    assert b"25.00" in form.content


@pytest.mark.parametrize(("amount", "balance"), [("12.50", "37.50"), ("-25.00", "0.00"), ("-5", "20.00")])
def test_an_adjustment_posts_a_balanced_journal_with_the_operator(
    adjusting_client, operator, funded_user, amount, balance
):
    wallet = wallet_of(funded_user)

    response = adjusting_client.post(adjust_url(wallet), {"amount": amount, "reason": "  Chargeback 4711  "})

    assert response.status_code == 302
    assert response["Location"] == f"/admin/wallets/wallet/{wallet.id}/change/"
    assert wallet_of(funded_user).balance == Decimal(balance)
    journal = Journal.objects.get(kind=JournalKind.ADJUSTMENT)
    assert (journal.created_by, journal.description) == (operator, "Chargeback 4711")
    entries = list(journal.entries.all())
    assert sum(entry.amount for entry in entries) == 0
    entry = journal.entries.get(wallet=wallet)
    assert (entry.type, entry.amount, entry.balance_after) == (EntryType.ADJUSTMENT, Decimal(amount), Decimal(balance))
    assert journal.entries.get(wallet__kind=WalletKind.ADJUSTMENTS).amount == -Decimal(amount)
    assert LogEntry.objects.filter(object_id=str(wallet.id), user=operator).exists()
    assert_ledger_consistent()


def test_a_frozen_wallet_can_still_be_adjusted(adjusting_client, operator, funded_user):
    wallet = wallet_of(funded_user)
    wallet_freeze(wallet=wallet, operator=operator)

    adjusting_client.post(adjust_url(wallet), {"amount": "5.00", "reason": "Goodwill"})

    assert wallet_of(funded_user).balance == Decimal("30.00")
    assert wallet_of(funded_user).is_frozen


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"amount": "5.00", "reason": ""}, id="no-reason"),
        pytest.param({"amount": "5.00", "reason": "   "}, id="blank-reason"),
        pytest.param({"amount": "5.00"}, id="reason-missing"),
        pytest.param({"amount": "0", "reason": "Nothing"}, id="zero"),
        pytest.param({"amount": "1.005", "reason": "Fractions"}, id="three-decimals"),
        pytest.param({"amount": "abc", "reason": "Not a number"}, id="not-a-number"),
        pytest.param({"reason": "No amount"}, id="amount-missing"),
    ],
)
def test_an_invalid_adjustment_is_a_form_error_and_changes_nothing(adjusting_client, funded_user, data):
    wallet = wallet_of(funded_user)

    response = adjusting_client.post(adjust_url(wallet), data)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert wallet_of(funded_user).balance == Decimal("25.00")
    assert not Journal.objects.filter(kind=JournalKind.ADJUSTMENT).exists()


def test_an_adjustment_below_zero_is_an_error_message_and_changes_nothing(adjusting_client, funded_user):
    wallet = wallet_of(funded_user)

    response = adjusting_client.post(adjust_url(wallet), {"amount": "-26", "reason": "Too much"})

    assert response.status_code == 200
    assert [message.level_tag for message in response.context["messages"]] == ["error"]
    assert b"25.00 is less than 26.00" in response.content
    assert wallet_of(funded_user).balance == Decimal("25.00")
    assert not Journal.objects.filter(kind=JournalKind.ADJUSTMENT).exists()


def test_system_accounts_have_no_adjustment_form(adjusting_client, funded_user):
    external = Wallet.objects.get(kind=WalletKind.EXTERNAL)

    assert adjusting_client.get(adjust_url(external)).status_code == 404
    assert adjusting_client.post(adjust_url(external), {"amount": "5.00", "reason": "No"}).status_code == 404
    assert b"/adjust/" not in adjusting_client.get(f"/admin/wallets/wallet/{external.id}/change/").content


def test_staff_without_the_change_permission_cannot_adjust(funded_user):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_wallet"))
    client = Client()
    client.force_login(viewer)
    wallet = wallet_of(funded_user)

    assert client.get(f"/admin/wallets/wallet/{wallet.id}/change/").status_code == 200
    assert client.post(adjust_url(wallet), {"amount": "5.00", "reason": "Mine"}).status_code == 403
    assert wallet_of(funded_user).balance == Decimal("25.00")


def test_the_wallet_page_links_to_its_ledger_entries(operator_client, funded_user):
    wallet = wallet_of(funded_user)
    fund_wallet(UserFactory(), "3.00")

    response = operator_client.get("/admin/wallets/ledgerentry/", {"wallet__id__exact": str(wallet.id)})

    assert (
        f"?wallet__id__exact={wallet.id}".encode()
        in operator_client.get(f"/admin/wallets/wallet/{wallet.id}/change/").content
    )
    assert [entry.wallet_id for entry in response.context["cl"].result_list] == [wallet.id]
