"""`manage.py reconcile`: planted discrepancies are caught and named, clean books exit 0,
the JSON document keeps its schema, every run is recorded."""

import json
import os
import random
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.exceptions import OutOfStock
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core.tests.threads import run_together
from orders.exceptions import InvalidOrderState
from orders.models import Order, OrderStatus, PaymentMethod
from orders.services import order_purchase, order_refund
from reconciliation.models import ReconciliationRun
from reconciliation.tests.helpers import (
    CHECK_NAMES,
    check_of,
    delivery_as_status_implies,
    failing,
    ledger_triggers_disabled,
    reconcile,
    reconcile_json,
    unpaid_order,
)
from wallets.exceptions import InsufficientFunds
from wallets.models import Journal, JournalKind, LedgerEntry, Wallet
from wallets.services import wallet_deposit, wallet_withdraw
from wallets.tests.factories import assert_ledger_consistent, wallet_of

D = Decimal


def released_behind_the_ledger(order: Order, *, status: str) -> Order:
    """Give a completed order a status that holds no units, and its units back, but leave its journals."""
    Order.objects.filter(id=order.id).update(status=status)
    Product.objects.filter(id=order.product_id).update(available_units=F("available_units") + order.quantity)
    order.refresh_from_db()
    delivery_as_status_implies(order)
    return order


@pytest.mark.django_db
class TestCleanBooks:
    def test_exit_0_and_a_report_of_every_check(self, shop):
        code, out, _ = reconcile("-v", "0")

        assert code == 0
        assert f"Clean: {len(CHECK_NAMES)} checks passed" in out
        for name in CHECK_NAMES:
            assert name in out

    def test_each_run_is_recorded(self, shop):
        code, document = reconcile_json()

        run = ReconciliationRun.objects.get()
        assert code == 0
        assert run.id == document["run_id"]
        assert (run.clean, run.discrepancy_count, run.since, run.gateway_checked) == (True, 0, None, False)
        assert run.started_at <= run.finished_at
        assert set(run.results) == set(CHECK_NAMES)
        assert run.results["order_journals"] == {
            "description": check_of(document, "order_journals")["description"],
            "scope": "all",
            "entity": "order",
            "ok": True,
            "count": 0,
            "examples": [],
            "detail": "",
            "seconds": check_of(document, "order_journals")["seconds"],
        }

    def test_it_reports_and_never_corrects(self, shop):
        rows = (LedgerEntry.objects.count(), Journal.objects.count(), Order.objects.count())
        Wallet.objects.filter(user=shop["buyer"]).update(balance=D("1.00"))

        code, _ = reconcile_json()

        assert code == 1
        assert (LedgerEntry.objects.count(), Journal.objects.count(), Order.objects.count()) == rows
        assert wallet_of(shop["buyer"]).balance == D("1.00")


@pytest.mark.django_db
class TestJsonSchema:
    def test_document_shape(self, shop):
        code, document = reconcile_json()

        assert code == 0
        assert set(document) == {
            "schema_version",
            "run_id",
            "clean",
            "discrepancy_count",
            "started_at",
            "finished_at",
            "duration_seconds",
            "since",
            "gateway_checked",
            "checks",
        }
        assert document["schema_version"] == 1
        assert isinstance(document["run_id"], int)
        assert (document["clean"], document["discrepancy_count"], document["since"]) == (True, 0, None)
        assert document["gateway_checked"] is False
        assert isinstance(document["duration_seconds"], float)
        assert document["started_at"] <= document["finished_at"]
        assert [check["name"] for check in document["checks"]] == CHECK_NAMES
        for check in document["checks"]:
            assert list(check) == [
                "name",
                "description",
                "scope",
                "entity",
                "ok",
                "count",
                "examples",
                "detail",
                "seconds",
            ]
            assert check["ok"] is True and check["count"] == 0 and check["examples"] == []
            assert check["scope"] == "all"
            assert isinstance(check["description"], str) and check["description"]
            assert isinstance(check["seconds"], float)
        assert {check["entity"] for check in document["checks"]} == {
            "wallet",
            "ledger",
            "journal",
            "ledger_entry",
            "order",
            "product",
            "refund",
            "code",
        }

    def test_with_discrepancies_stdout_is_still_one_json_document(self, shop):
        Wallet.objects.filter(user=shop["buyer"]).update(balance=F("balance") + 1)

        code, out, err = reconcile("--json")

        document = json.loads(out)
        assert code == 1
        assert (document["clean"], document["discrepancy_count"]) == (False, 1)
        assert check_of(document, "wallet_balances") == {
            **check_of(document, "wallet_balances"),
            "ok": False,
            "count": 1,
            "examples": [str(wallet_of(shop["buyer"]).id)],
        }
        assert f"run {document['run_id']}" in err


@pytest.mark.django_db
class TestPlantedDiscrepancies:
    def test_tampered_balance(self, shop):
        Wallet.objects.filter(user=shop["merchant"]).update(balance=F("balance") - D("0.01"))

        code, document = reconcile_json()

        assert code == 1
        assert failing(document) == {"wallet_balances": [str(wallet_of(shop["merchant"]).id)]}
        run = ReconciliationRun.objects.get()
        assert (run.clean, run.discrepancy_count) == (False, 1)
        assert run.results["wallet_balances"]["examples"] == [str(wallet_of(shop["merchant"]).id)]

    def test_completed_order_without_its_journal(self, shop):
        order = unpaid_order(shop, status=OrderStatus.COMPLETED, method=PaymentMethod.WALLET)

        code, document = reconcile_json()

        assert code == 1
        assert failing(document) == {"order_journals": [str(order.id)]}

    def test_order_amount_that_its_journal_does_not_carry(self, shop):
        order = shop["completed"]
        Order.objects.filter(id=order.id).update(unit_price=D("20.00"), total_amount=D("40.00"))

        _, document = reconcile_json()

        assert failing(document) == {"order_journals": [str(order.id)]}

    def test_refunded_status_without_a_refund_journal(self, shop):
        order = released_behind_the_ledger(shop["completed"], status=OrderStatus.REFUNDED)

        _, document = reconcile_json()

        assert failing(document) == {"order_journals": [str(order.id)]}

    def test_failed_expired_and_pending_orders_must_have_no_journal(self, shop):
        order = released_behind_the_ledger(shop["completed"], status=OrderStatus.FAILED)

        _, document = reconcile_json()

        assert failing(document) == {"order_journals": [str(order.id)]}

    def test_deleted_journal_leg(self, shop):
        order = shop["completed"]
        sale = LedgerEntry.objects.get(order_id=order.id, type="SALE")
        with ledger_triggers_disabled():
            LedgerEntry.objects.filter(id=sale.id).delete()

        code, document = reconcile_json()

        assert code == 1
        merchant_wallet = str(wallet_of(shop["merchant"]).id)
        # The merchant's next entry no longer chains to the deleted one.
        later_sale = LedgerEntry.objects.get(order_id=shop["refunded"].id, type="SALE")
        assert failing(document) == {
            "wallet_balances": [merchant_wallet],
            "ledger_sum": [],
            "journal_sums": [str(sale.journal_id)],
            "balance_chains": [str(later_sale.id)],
            "order_journals": [str(order.id)],
        }
        assert "-38.98" in check_of(document, "ledger_sum")["detail"]

    def test_journal_naming_an_order_that_does_not_exist(self, shop):
        ghost = "00000000-0000-4000-8000-00000000dead"
        sale_journal = Journal.objects.get(order_id=shop["completed"].id, kind=JournalKind.PURCHASE)
        with ledger_triggers_disabled():
            Journal.objects.filter(id=sale_journal.id).update(order_id=ghost)
            LedgerEntry.objects.filter(journal=sale_journal).update(order_id=ghost)

        _, document = reconcile_json()

        assert sorted(failing(document)["order_journals"]) == sorted([ghost, str(shop["completed"].id)])

    def test_broken_stock_count(self, shop):
        Product.objects.filter(id=shop["product"].id).update(available_units=F("available_units") + 1)

        code, document = reconcile_json()

        assert code == 1
        assert failing(document) == {"product_stock": [str(shop["product"].id)]}

    def test_stale_pending_order(self, shop):
        stale = unpaid_order(shop, status=OrderStatus.PENDING, expires_at=timezone.now() - timedelta(minutes=11))
        # Just expired: within the grace the cron job (or an in-flight payment's webhook) has to end it.
        unpaid_order(shop, status=OrderStatus.PENDING, expires_at=timezone.now() - timedelta(minutes=1))
        unpaid_order(shop, status=OrderStatus.PENDING, expires_at=timezone.now() + timedelta(minutes=10))

        code, document = reconcile_json()

        assert code == 1
        assert failing(document) == {"stale_pending_orders": [str(stale.id)]}

    def test_text_report_names_the_offenders(self, shop):
        Product.objects.filter(id=shop["product"].id).update(available_units=0)

        code, out, err = reconcile("-v", "0")

        assert code == 1
        assert "FAIL product_stock" in out
        assert f"product: {shop['product'].id}" in out
        assert "1 discrepancies" in out
        assert "ADJUSTMENT" in out
        assert f"1 discrepancies in 1 of {len(CHECK_NAMES)} checks" in err


@pytest.mark.django_db
class TestSince:
    def test_old_orders_are_outside_the_window_but_balances_are_not(self, shop):
        old = unpaid_order(shop, status=OrderStatus.COMPLETED, method=PaymentMethod.WALLET)
        Order.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=3))
        Wallet.objects.filter(user=shop["buyer"]).update(balance=F("balance") + 1)
        since = (timezone.now() - timedelta(days=1)).isoformat()

        code, windowed = reconcile_json("--since", since)
        _, whole = reconcile_json()

        assert code == 1
        assert failing(windowed) == {"wallet_balances": [str(wallet_of(shop["buyer"]).id)]}
        assert set(failing(whole)) == {"wallet_balances", "order_journals"}
        assert windowed["since"] == since
        assert check_of(windowed, "order_journals")["scope"] == "since"
        assert check_of(windowed, "wallet_balances")["scope"] == "all"
        assert ReconciliationRun.objects.order_by("id").first().since.isoformat() == since

    def test_a_refund_inside_the_window_checks_its_older_order(self, shop):
        order = shop["completed"]
        Order.objects.filter(id=order.id).update(created_at=timezone.now() - timedelta(days=3))
        since = timezone.now()
        order_refund(order_id=order.id, actor=shop["merchant"])

        assert reconcile_json("--since", since.isoformat())[0] == 0

        Order.objects.filter(id=order.id).update(fee_amount=D("0.00"))
        _, document = reconcile_json("--since", since.isoformat())
        assert failing(document) == {"order_journals": [str(order.id)]}

    def test_a_date_means_its_midnight(self, shop):
        _, document = reconcile_json("--since", "2025-01-31")

        assert document["since"].startswith("2025-01-31T00:00:00")

    def test_not_a_date_is_refused(self, db):
        with pytest.raises(CommandError, match="not an ISO 8601"):
            call_command("reconcile", "--since", "yesterday")
        assert not ReconciliationRun.objects.exists()


@pytest.mark.django_db
class TestProgress:
    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    def test_nothing_when_not_a_terminal(self, shop):
        code, out, err = reconcile()

        assert (code, err) == (0, "")
        assert f"Clean: {len(CHECK_NAMES)} checks passed" in out

    def test_a_plain_progress_bar_on_a_terminal(self, shop):
        terminal = self.Terminal()

        code, _, err = reconcile(stderr=terminal)

        assert code == 0
        assert f"{len(CHECK_NAMES)}/{len(CHECK_NAMES)}" in err
        assert "check" in err
        # Unstyled: Django's stderr style (bold red, as for an error) is never applied to it.
        assert "\x1b[" not in err.replace("\x1b[A", "")

    def test_none_with_json_even_on_a_terminal(self, shop):
        terminal = self.Terminal()

        code, out, err = reconcile("--json", stderr=terminal)

        assert (code, err) == (0, "")
        assert json.loads(out)["clean"] is True

    def test_quiet_at_verbosity_0(self, shop):
        assert reconcile("-v", "0")[2] == ""


@pytest.mark.django_db
def test_gateway_check_needs_stripe_keys(settings, shop):
    settings.STRIPE_SECRET_KEY = ""

    code, _, err = reconcile("--gateway")

    assert code == 2
    assert "STRIPE_SECRET_KEY" in err
    assert not ReconciliationRun.objects.exists()


def random_operations(*, rng: random.Random, buyers, merchant, products, steps: int) -> None:
    """Deposits, withdrawals, purchases and refunds in random order; refusals are part of the mix."""
    for _ in range(steps):
        buyer = rng.choice(buyers)
        action = rng.random()
        try:
            if action < 0.25:
                wallet_deposit(user=buyer, amount=D(rng.randint(1, 5000)) / 100)
            elif action < 0.4:
                wallet_withdraw(user=buyer, amount=D(rng.randint(100, 3000)) / 100)
            elif action < 0.8:
                order_purchase(
                    buyer=buyer,
                    product_id=rng.choice(products).id,
                    quantity=rng.randint(1, 3),
                    method=PaymentMethod.WALLET,
                )
            else:
                completed = Order.objects.filter(status=OrderStatus.COMPLETED).order_by("?").first()
                if completed is not None:
                    order_refund(order_id=completed.id, actor=merchant)
        except (InsufficientFunds, OutOfStock, InvalidOrderState):
            pass


@pytest.mark.django_db(transaction=True)
def test_random_mix_including_concurrent_operations_reconciles_clean(settings):
    settings.PLATFORM_FEE_PERCENT = D("3")
    rng = random.Random(8)
    merchant = MerchantFactory()
    buyers = [UserFactory() for _ in range(4)]
    products = [
        ProductFactory(merchant=merchant, price=D(price), available_units=15) for price in ("3.33", "12.50", "0.99")
    ]
    for buyer in buyers:
        wallet_deposit(user=buyer, amount=D("60.00"))
    random_operations(rng=rng, buyers=buyers, merchant=merchant, products=products, steps=30)

    # Then six threads at once, on the same wallets and products.
    seeds = [rng.randrange(10**6) for _ in range(6)]
    results = run_together(
        6,
        lambda i: random_operations(
            rng=random.Random(seeds[i]), buyers=buyers, merchant=merchant, products=products, steps=8
        ),
    )

    assert results == [None] * 6
    assert Order.objects.filter(status=OrderStatus.REFUNDED).exists()
    assert Order.objects.filter(status=OrderStatus.COMPLETED).exists()
    code, document = reconcile_json()
    assert code == 0, failing(document)
    assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_exit_codes_of_the_real_process():
    buyer = UserFactory()
    wallet_deposit(user=buyer, amount=D("10.00"))
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "DJANGO_SECRET_KEY": django_settings.SECRET_KEY,
    }
    command = [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "reconcile"]

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603

    clean = run()
    Wallet.objects.filter(user=buyer).update(balance=D("11.00"))
    dirty = run()

    assert clean.returncode == 0, clean.stderr
    assert "Clean" in clean.stdout
    assert dirty.returncode == 1
    assert "FAIL wallet_balances" in dirty.stdout
    assert "CommandError: 1 discrepancies" in dirty.stderr
    assert ReconciliationRun.objects.count() == 2
