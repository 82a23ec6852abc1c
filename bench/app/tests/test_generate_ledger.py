"""`generate_ledger`: the benchmark's large ledger is what the services would write, so it reconciles clean.

The command belongs to the bench app, which only BENCH settings install: the
tests run an instance of it, which needs no installed app.
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bench.app.management.commands.generate_ledger import Command as GenerateLedger
from orders.models import Order, OrderStatus
from reconciliation.tests.helpers import failing, reconcile_json
from wallets.models import LedgerEntry, Wallet, WalletKind
from wallets.services import wallet_deposit
from wallets.tests.factories import assert_ledger_consistent

D = Decimal


@pytest.mark.django_db
class TestGenerateLedger:
    def test_a_generated_ledger_is_consistent_and_reconciles_clean(self):
        out = StringIO()
        call_command(GenerateLedger(), "--entries", "701", "--wallets", "30", stdout=out)

        assert LedgerEntry.objects.count() == 701
        assert Wallet.objects.filter(kind=WalletKind.USER).count() == 30
        assert Order.objects.filter(status=OrderStatus.REFUNDED).exists()
        assert "701 entries" in out.getvalue()
        assert_ledger_consistent()
        code, document = reconcile_json()
        assert code == 0, failing(document)

    def test_refuses_a_database_with_a_ledger(self, user):
        wallet_deposit(user=user, amount=D("1.00"))

        with pytest.raises(CommandError, match="already has a ledger"):
            call_command(GenerateLedger(), "--entries", "100", "--wallets", "10")

    def test_dry_run_writes_nothing(self):
        out = StringIO()
        call_command(GenerateLedger(), "--entries", "1000000", "--wallets", "10000", "--dry-run", stdout=out)

        assert "10000 wallets (100 merchants)" in out.getvalue()
        assert "1000000 entries" in out.getvalue()
        assert not LedgerEntry.objects.exists()
