"""The nightly reconciliation (beat, 03:30 UTC): the books in full, the last days against Stripe, operators alerted.

What the cron job of docs/operations.md did: `reconcile`, then with the Stripe
keys `reconcile --gateway --fix --since <2 days ago>`. Each run is recorded
(the operators' dashboard shows the last one); any run that is not clean, or
that could not complete, is mailed to the operators.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import DatabaseError
from django.utils import timezone

from core import gateway
from reconciliation.models import ReconciliationRun
from reconciliation.services import reconciliation_run, refunds_settle

logger = logging.getLogger("paymentflow.reconciliation")

# Card orders of this many last days are compared with Stripe (refunds left pending are settled first).
GATEWAY_WINDOW = timedelta(days=2)


def reconciliation_nightly() -> list[ReconciliationRun]:
    """Reconcile, record the runs, and mail the operators about any that is not clean; return the runs."""
    runs: list[ReconciliationRun] = []
    problems: list[str] = []
    try:
        runs.append(reconciliation_run().run)
        if gateway.gateway_is_configured():
            since = timezone.now() - GATEWAY_WINDOW
            refunds_settle(since=since)
            runs.append(reconciliation_run(since=since, with_gateway=True).run)
    except (gateway.GatewayError, gateway.GatewayUnavailable) as exc:
        problems.append(f"The reconciliation could not complete: Stripe failed ({exc.detail}).")
    except DatabaseError as exc:
        problems.append(f"The reconciliation could not complete: {exc}")
    for run in runs:
        if not run.clean:
            failed = ", ".join(
                f"{name} ({result['count']})" for name, result in run.results.items() if not result["ok"]
            )
            problems.append(
                f"Run {run.id} ({'with' if run.gateway_checked else 'without'} Stripe): "
                f"{run.discrepancy_count} discrepancies in {failed}."
            )
    if problems:
        operators_alert(
            subject="Reconciliation is not clean",
            body="\n".join(
                [*problems, "", "The runs and their examples: the operators' back office, Reconciliation runs."]
            ),
        )
    return runs


def operator_alert_recipients() -> list[str]:
    """Return OPERATOR_ALERT_EMAILS, or when it is empty the emails of the active staff superusers."""
    if settings.OPERATOR_ALERT_EMAILS:
        return list(settings.OPERATOR_ALERT_EMAILS)
    operators = get_user_model().objects.filter(is_active=True, is_staff=True, is_superuser=True)
    return sorted(operators.exclude(email="").values_list("email", flat=True))


def operators_alert(*, subject: str, body: str) -> None:
    """Mail `subject` and `body` to the operators (logged as an error as well, so it is seen without mail)."""
    logger.error("%s: %s", subject, body)
    recipients = operator_alert_recipients()
    if recipients:
        send_mail(f"[Payment Flow] {subject}", body, None, recipients)
