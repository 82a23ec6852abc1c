"""`manage.py reconcile`: run the reconciliation (`reconciliation_run`), show its progress, print its report.

Exit codes: 0 clean, 1 discrepancies found, 2 the run could not complete
(bad arguments, database or gateway error). The checks correct nothing: an
operator fixes a discrepancy with an ADJUSTMENT (`wallets.services.wallet_adjust`).
The one repair is `--gateway --fix`, which first settles refunds left PENDING
from what Stripe holds, exactly as a retry of their request would.
"""

import argparse
import json
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import DatabaseError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core import gateway
from core.progress import progress_bar
from reconciliation.checks.base import Check
from reconciliation.services import CheckReport, Reconciliation, reconciliation_run, refunds_settle

# Bumped when a key of the --json document changes meaning or goes away.
JSON_SCHEMA_VERSION = 1

EXIT_DISCREPANCIES = 1
EXIT_INCOMPLETE = 2


def parse_since(value: str) -> datetime:
    """Parse `--since`: an ISO 8601 date or datetime; without an offset it is in TIME_ZONE."""
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = datetime.combine(day, time.min)
    except ValueError:
        parsed = None
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 date or datetime (e.g. 2025-01-31T00:00Z)")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class _Progress:
    """A plain bar of the checks on a terminal; nothing when piped or printing JSON (the report has the times)."""

    def __init__(self, stream: OutputWrapper, *, enabled: bool):
        self._stream, self._enabled = stream, enabled
        self._bar = None

    def started(self, check: Check, *, index: int, total: int) -> None:
        if self._bar is None:
            self._bar = progress_bar(self._stream, total=total, unit="check", enabled=self._enabled, every_step=True)
        self._bar.set_description(check.name)

    def finished(self, report: CheckReport, *, index: int, total: int) -> None:
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Command(BaseCommand):
    help = (
        "Check that the books balance: wallet balances against their entries, zero-sum journals, balance "
        "chains, orders against their journals, stock against live orders, stale pending orders, and with "
        "--gateway the card payments in Stripe. Read-only (it records the run, nothing else), except that "
        "--gateway --fix first settles refunds left pending. "
        "Exit code 0 clean, 1 discrepancies, 2 could not complete."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            type=parse_since,
            help="Only judge journals, entries and orders created at or after this ISO 8601 date/datetime "
            "(e.g. 2025-01-31 or 2025-01-31T12:00:00Z). Wallet balances, the ledger total, stock and "
            "pending orders are always checked in full.",
        )
        parser.add_argument(
            "--gateway",
            action="store_true",
            dest="with_gateway",
            help="Also compare card orders with their PaymentIntents and refunds in Stripe (one or two API "
            "calls per card order; combine with --since on a large history).",
        )
        parser.add_argument(
            "--fix",
            action="store_true",
            help="With --gateway: first settle every refund left PENDING (its Stripe answer never arrived) from "
            "what Stripe holds, then check. Safe to repeat; changes nothing else.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print one JSON document (docs/operations.md, Reconciliation) on stdout instead of the report.",
        )

    def handle(
        self, *args, since: datetime | None, with_gateway: bool, fix: bool, as_json: bool, verbosity: int, **options
    ):
        if fix and not with_gateway:
            raise CommandError("--fix settles refunds from Stripe: it needs --gateway.", returncode=EXIT_INCOMPLETE)
        if with_gateway and not gateway.gateway_is_configured():
            raise CommandError(
                "--gateway needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.", returncode=EXIT_INCOMPLETE
            )
        if fix:
            try:
                settled = refunds_settle(since=since)
            except (gateway.GatewayError, gateway.GatewayUnavailable) as exc:
                raise CommandError(
                    f"Settling refunds could not complete: Stripe failed ({exc.detail}).", returncode=EXIT_INCOMPLETE
                ) from exc
            if not as_json and (settled.pending or settled.made_at_stripe):
                self.stderr.write(
                    f"Settled {settled.pending} pending refund(s): {settled.succeeded} succeeded, {settled.failed} "
                    f"failed, {len(settled.still_pending)} still pending; recorded {settled.made_at_stripe} "
                    "refund(s) made at Stripe."
                )
        progress = _Progress(self.stderr, enabled=verbosity > 0 and not as_json)
        try:
            reconciliation = reconciliation_run(since=since, with_gateway=with_gateway, progress=progress)
        except DatabaseError as exc:
            raise CommandError(f"Reconciliation could not complete: {exc}", returncode=EXIT_INCOMPLETE) from exc
        except (gateway.GatewayError, gateway.GatewayUnavailable) as exc:
            raise CommandError(
                f"Reconciliation could not complete: the gateway check failed ({exc.detail}).",
                returncode=EXIT_INCOMPLETE,
            ) from exc
        finally:
            progress.close()

        run = reconciliation.run
        document = _document(reconciliation)
        if as_json:
            self.stdout.write(json.dumps(document, indent=2))
        else:
            self._write_report(document)
        if not run.clean:
            failed = sum(1 for report in reconciliation.reports if not report.result.ok)
            raise CommandError(
                f"{run.discrepancy_count} discrepancies in {failed} of {len(reconciliation.reports)} checks "
                f"(run {run.id}).",
                returncode=EXIT_DISCREPANCIES,
            )

    def _write_report(self, document: dict[str, Any]) -> None:
        scope = f"since {document['since']}" if document["since"] else "whole ledger"
        gateway_note = "with" if document["gateway_checked"] else "without"
        self.stdout.write(f"Reconciliation run {document['run_id']}: {scope}, {gateway_note} the gateway check")
        width = max(len(report["name"]) for report in document["checks"])
        for report in document["checks"]:
            mark = self.style.SUCCESS("ok  ") if report["ok"] else self.style.ERROR("FAIL")
            scope_note = " (since)" if report["scope"] == "since" else ""
            self.stdout.write(
                f"  {mark} {report['name']:<{width}} {report['count']:>8}  {report['description']}{scope_note}"
            )
            if report["examples"]:
                more = ", …" if report["count"] > len(report["examples"]) else ""
                self.stdout.write(f"       {report['entity']}: {', '.join(report['examples'])}{more}")
            if report["detail"]:
                self.stdout.write(f"       {report['detail']}")
        seconds = document["duration_seconds"]
        if document["clean"]:
            self.stdout.write(self.style.SUCCESS(f"Clean: {len(document['checks'])} checks passed in {seconds:.2f} s."))
        else:
            self.stdout.write(
                self.style.ERROR(
                    f"{document['discrepancy_count']} discrepancies ({seconds:.2f} s). Nothing was changed: "
                    "correct balances with an ADJUSTMENT (wallets.services.wallet_adjust)."
                )
            )


def _document(reconciliation: Reconciliation) -> dict[str, Any]:
    """Return the `--json` document of a run (docs/operations.md); the text report is drawn from it too."""
    run = reconciliation.run
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "run_id": run.id,
        "clean": run.clean,
        "discrepancy_count": run.discrepancy_count,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "duration_seconds": reconciliation.seconds,
        "since": run.since.isoformat() if run.since else None,
        "gateway_checked": run.gateway_checked,
        "checks": [report.as_dict() for report in reconciliation.reports],
    }
