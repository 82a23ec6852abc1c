"""The reconciliation's background task: the nightly run on beat."""

from celery import shared_task

from reconciliation.nightly import reconciliation_nightly


# Longer limits than the default: a gateway check makes one or two Stripe calls per card order.
@shared_task(name="reconciliation.nightly", soft_time_limit=1800, time_limit=1860)
def reconciliation_nightly_task() -> list[int]:
    """Reconcile the books (and Stripe, with its keys) and alert the operators when it is not clean."""
    return [run.id for run in reconciliation_nightly()]
