"""The record of each reconciliation run, shown on the operators' dashboard."""

from django.db import models


class ReconciliationRun(models.Model):
    """One run of `manage.py reconcile`: when, with what scope, and what it found."""

    id = models.BigAutoField(primary_key=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    # The window checked (`--since`); null for the whole ledger.
    since = models.DateTimeField(null=True, blank=True)
    gateway_checked = models.BooleanField(default=False)
    clean = models.BooleanField()
    discrepancy_count = models.PositiveIntegerField(default=0)
    # Per check: {"name": {"ok": bool, "count": int, "examples": [ids]}, …}
    results = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Reconciliation {self.started_at:%Y-%m-%d %H:%M} ({'clean' if self.clean else 'discrepancies'})"
