"""The operators' back office: freeze/unfreeze through the services, money rows read-only."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from wallets.models import Journal, LedgerEntry, Wallet, WalletKind
from wallets.tests.factories import fund_wallet, wallet_of

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
