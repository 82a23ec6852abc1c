"""Reads of the run records."""

from reconciliation.models import ReconciliationRun


def reconciliation_run_latest() -> ReconciliationRun | None:
    """Return the run that started last (the operators' dashboard shows it), or None before the first."""
    return ReconciliationRun.objects.order_by("-started_at", "-id").first()
