"""Run the reconciliation checks and record the run: the one write of this app."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from typing import Any, Protocol

from django.db.models import Q
from django.utils import timezone

from core import gateway
from core.errors import ApplicationError
from orders.models import PAID_STATUSES, Order, PaymentMethod, Refund, RefundStatus, StatusChangeSource
from orders.services.refunds.card import MADE_AT_STRIPE, order_refunds_sync, refund_at_gateway
from reconciliation.checks import DATABASE_CHECKS, GATEWAY_CHECKS
from reconciliation.checks.base import Check, CheckResult, read_only_snapshot
from reconciliation.models import ReconciliationRun


@dataclass(frozen=True)
class CheckReport:
    """One check of a run: what it found, over what scope, in how long."""

    check: Check
    result: CheckResult
    # "since" when the check looked only at the window, "all" otherwise.
    scope: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """Return the report as the run records it and `reconcile --json` prints it (in this key order)."""
        return {
            "name": self.result.name,
            "description": self.check.description,
            "scope": self.scope,
            "entity": self.result.entity,
            "ok": self.result.ok,
            "count": self.result.count,
            "examples": list(self.result.examples),
            "detail": self.result.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Reconciliation:
    """A recorded run with its reports in check order.

    The run's `results` hold the same reports by name, but a JSON column does
    not keep their order (PostgreSQL's jsonb sorts keys), so the reports are
    handed back as well for whoever prints them.
    """

    run: ReconciliationRun
    reports: tuple[CheckReport, ...]
    seconds: float


class Progress(Protocol):
    """Told about each check as it starts and finishes (the command's progress bar)."""

    def started(self, check: Check, *, index: int, total: int) -> None: ...

    def finished(self, report: CheckReport, *, index: int, total: int) -> None: ...


def reconciliation_run(
    *, since: datetime | None = None, with_gateway: bool = False, progress: Progress | None = None
) -> Reconciliation:
    """Run every database check, then the gateway check if asked, and record the run.

    Nothing but the ReconciliationRun row is written. The database checks see
    one instant of the books (`read_only_snapshot`); the gateway check runs
    after, outside it, because a long series of Stripe calls should not hold a
    transaction open. If a check cannot complete (DatabaseError, GatewayError,
    GatewayUnavailable) the error propagates and no run is recorded: nothing
    could be concluded.
    """
    checks = (*DATABASE_CHECKS, *GATEWAY_CHECKS) if with_gateway else DATABASE_CHECKS
    started_at, clock = timezone.now(), monotonic()
    reports: list[CheckReport] = []

    def run_next(check: Check) -> None:
        index = len(reports) + 1
        if progress is not None:
            progress.started(check, index=index, total=len(checks))
        check_clock = monotonic()
        result = check.run(since=since)
        report = CheckReport(
            check=check,
            result=result,
            scope="since" if since and check.windowed else "all",
            seconds=monotonic() - check_clock,
        )
        reports.append(report)
        if progress is not None:
            progress.finished(report, index=index, total=len(checks))

    with read_only_snapshot():
        for check in DATABASE_CHECKS:
            run_next(check)
    if with_gateway:
        for check in GATEWAY_CHECKS:
            run_next(check)

    discrepancies = sum(report.result.count for report in reports)
    run = ReconciliationRun.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        since=since,
        gateway_checked=with_gateway,
        clean=discrepancies == 0,
        discrepancy_count=discrepancies,
        results={report.result.name: _without_name(report.as_dict()) for report in reports},
    )
    return Reconciliation(run=run, reports=tuple(reports), seconds=round(monotonic() - clock, 3))


# A refund younger than this may still have its first Stripe call in flight: left to it.
FIX_REFUNDS_OLDER_THAN = timedelta(minutes=1)


@dataclass(frozen=True)
class RefundsSettled:
    """What `refunds_settle` did: the PENDING refunds it found and what became of them, and the refunds
    made at Stripe that it recorded."""

    pending: int
    succeeded: int
    failed: int
    still_pending: tuple[str, ...]
    made_at_stripe: int


def refunds_settle(*, since: datetime | None = None) -> RefundsSettled:
    """Bring every refund in line with what Stripe holds (`reconcile --gateway --fix`); idempotent.

    Each PENDING refund is looked for at Stripe by our id in its metadata:
    found, it is settled as Stripe says (SUCCEEDED with its journal, or FAILED);
    not found, it is asked for again with the same idempotency key, then
    settled. A refund that Stripe still reports in progress, or that Stripe
    cannot be asked about now, stays PENDING for the next run. Then every paid
    card order (created or changed since `since`) has the refunds made in
    Stripe's dashboard recorded, as their event would have. Running it twice
    changes nothing more.
    """
    before = timezone.now() - FIX_REFUNDS_OLDER_THAN
    pending = list(
        Refund.objects.filter(status=RefundStatus.PENDING, created_at__lte=before)
        .order_by("created_at")
        .values_list("id", flat=True)
    )
    outcomes: dict[str, list[str]] = {RefundStatus.SUCCEEDED: [], RefundStatus.FAILED: [], RefundStatus.PENDING: []}
    for refund_id in pending:
        try:
            status = refund_at_gateway(refund_id=refund_id, resume=True).status
        except (gateway.GatewayError, gateway.GatewayUnavailable):
            status = Refund.objects.get(id=refund_id).status
        outcomes[status].append(str(refund_id))
    paid = Order.objects.filter(payment_method=PaymentMethod.GATEWAY, status__in=PAID_STATUSES)
    if since:
        paid = paid.filter(Q(created_at__gte=since) | Q(updated_at__gte=since))
    made_at_stripe = 0
    for order_id in paid.order_by("id").values_list("id", flat=True).iterator():
        try:
            recorded = order_refunds_sync(order_id=order_id, source=StatusChangeSource.COMMAND)
        except (gateway.GatewayError, gateway.GatewayUnavailable):
            raise
        except ApplicationError:
            # Stripe holds what this order cannot take (more than is left): the gateway
            # check reports it for an operator; the other orders are still brought in line.
            continue
        made_at_stripe += sum(1 for refund in recorded if refund.reason == MADE_AT_STRIPE)
    return RefundsSettled(
        pending=len(pending),
        succeeded=len(outcomes[RefundStatus.SUCCEEDED]),
        failed=len(outcomes[RefundStatus.FAILED]),
        still_pending=tuple(outcomes[RefundStatus.PENDING]),
        made_at_stripe=made_at_stripe,
    )


def _without_name(report: dict[str, Any]) -> dict[str, Any]:
    # The run's results are keyed by check name already.
    return {key: value for key, value in report.items() if key != "name"}
