"""The nightly reconciliation on beat: runs recorded for the dashboard, operators mailed when not clean."""

from decimal import Decimal

import pytest
from django.db.models import F

from accounts.tests.factories import UserFactory
from reconciliation.models import ReconciliationRun
from reconciliation.nightly import reconciliation_nightly
from reconciliation.tasks import reconciliation_nightly_task
from wallets.models import Wallet


@pytest.fixture
def operator(db):
    return UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)


@pytest.mark.django_db
def test_clean_books_record_a_clean_run_and_mail_nobody(shop, operator, mailoutbox):
    [run] = reconciliation_nightly()

    assert (run.clean, run.gateway_checked, run.since) == (True, False, None)
    assert list(ReconciliationRun.objects.all()) == [run]
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_discrepancy_is_mailed_to_the_staff_superusers(shop, operator, mailoutbox):
    UserFactory(email="staff-only@example.com", is_staff=True)  # staff, not an operator of the books
    Wallet.objects.filter(user=shop["buyer"]).update(balance=F("balance") + Decimal("0.01"))

    [run] = reconciliation_nightly()

    assert not run.clean
    [mail] = mailoutbox
    assert mail.to == ["ops@example.com"]
    assert mail.subject == "[Payment Flow] Reconciliation is not clean"
    assert f"Run {run.id}" in mail.body and "wallet_balances (1)" in mail.body


@pytest.mark.django_db
def test_operator_alert_emails_take_precedence(shop, operator, mailoutbox, settings):
    settings.OPERATOR_ALERT_EMAILS = ["pager@example.com", "books@example.com"]
    Wallet.objects.filter(user=shop["buyer"]).update(balance=F("balance") + Decimal("0.01"))

    reconciliation_nightly_task()

    [mail] = mailoutbox
    assert mail.to == ["pager@example.com", "books@example.com"]


@pytest.mark.django_db
def test_with_stripe_keys_the_last_days_are_checked_against_stripe_too(shop, operator, mailoutbox, stripe_settings):
    full, gateway = reconciliation_nightly()

    assert (full.gateway_checked, gateway.gateway_checked) == (False, True)
    assert gateway.since is not None and gateway.clean
    assert mailoutbox == []
