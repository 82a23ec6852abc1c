"""Run the reconciliation checks and record the run: the one write of this app."""

from dataclasses import dataclass
from datetime import datetime
from time import monotonic
from typing import Any, Protocol

from django.utils import timezone

from reconciliation.checks import DATABASE_CHECKS, GATEWAY_CHECK
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
    checks = (*DATABASE_CHECKS, GATEWAY_CHECK) if with_gateway else DATABASE_CHECKS
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
        run_next(GATEWAY_CHECK)

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


def _without_name(report: dict[str, Any]) -> dict[str, Any]:
    # The run's results are keyed by check name already.
    return {key: value for key, value in report.items() if key != "name"}
