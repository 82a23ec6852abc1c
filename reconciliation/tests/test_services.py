"""`reconciliation_run`: it runs every check in order, records the run, and records nothing it could not finish."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from core import gateway
from orders.models import OrderStatus, PaymentMethod
from reconciliation.management.commands import reconcile as reconcile_command
from reconciliation.models import ReconciliationRun
from reconciliation.services import CheckReport, reconciliation_run
from reconciliation.tests.helpers import CHECK_NAMES, reconcile_json, unpaid_order
from wallets.models import Wallet
from wallets.tests.factories import wallet_of

pytestmark = pytest.mark.django_db


class RecordingProgress:
    def __init__(self):
        self.calls: list[tuple] = []

    def started(self, check, *, index: int, total: int) -> None:
        self.calls.append(("started", check.name, index, total))

    def finished(self, report: CheckReport, *, index: int, total: int) -> None:
        self.calls.append(("finished", report.result.name, index, total))


def test_it_records_the_run_it_reports(shop):
    reconciliation = reconciliation_run()

    run = ReconciliationRun.objects.get()
    assert run == reconciliation.run
    assert (run.clean, run.discrepancy_count, run.since, run.gateway_checked) == (True, 0, None, False)
    assert run.started_at <= run.finished_at
    assert [report.result.name for report in reconciliation.reports] == CHECK_NAMES
    assert run.results == {
        report.result.name: {key: value for key, value in report.as_dict().items() if key != "name"}
        for report in reconciliation.reports
    }
    assert reconciliation.seconds >= 0


def test_discrepancies_make_the_recorded_run_unclean(shop):
    Wallet.objects.filter(user=shop["buyer"]).update(balance=F("balance") + Decimal("0.01"))

    reconciliation = reconciliation_run()

    run = ReconciliationRun.objects.get()
    assert (run.clean, run.discrepancy_count) == (False, 1)
    assert run.results["wallet_balances"]["examples"] == [str(wallet_of(shop["buyer"]).id)]
    assert [report.result.name for report in reconciliation.reports if not report.result.ok] == ["wallet_balances"]


def test_the_window_is_recorded_and_narrows_only_the_windowed_checks(shop):
    since = timezone.now() - timedelta(days=1)

    reconciliation = reconciliation_run(since=since)

    assert ReconciliationRun.objects.get().since == since
    scopes = {report.result.name: report.scope for report in reconciliation.reports}
    windowed = ("journal_sums", "negative_balances", "balance_chains", "order_journals", "order_deliveries")
    assert scopes == {name: "since" if name in windowed else "all" for name in CHECK_NAMES}


def test_progress_hears_of_each_check_as_it_starts_and_finishes(shop):
    progress = RecordingProgress()

    reconciliation_run(progress=progress)

    total = len(CHECK_NAMES)
    assert progress.calls == [
        call
        for index, name in enumerate(CHECK_NAMES, start=1)
        for call in (("started", name, index, total), ("finished", name, index, total))
    ]


def test_a_run_the_gateway_cannot_finish_is_not_recorded(stripe_settings, shop):
    unpaid_order(shop, status=OrderStatus.COMPLETED, method=PaymentMethod.GATEWAY, payment_intent_id="pi_unreachable")
    stripe_settings.STRIPE_API_BASE = "http://127.0.0.1:1"
    progress = RecordingProgress()

    with pytest.raises(gateway.GatewayError):
        reconciliation_run(with_gateway=True, progress=progress)

    assert not ReconciliationRun.objects.exists()
    # Every database check finished before the gateway check was tried.
    assert progress.calls[-1] == ("started", "gateway_payments", len(CHECK_NAMES) + 1, len(CHECK_NAMES) + 2)


def test_the_command_records_through_the_service_only(shop, monkeypatch):
    returned = []

    def recorded_by_the_service(**arguments):
        returned.append(reconciliation_run(**arguments))
        return returned[-1]

    monkeypatch.setattr(reconcile_command, "reconciliation_run", recorded_by_the_service)

    code, document = reconcile_json()

    assert code == 0
    assert list(ReconciliationRun.objects.all()) == [returned[0].run]
    assert document["run_id"] == returned[0].run.id
