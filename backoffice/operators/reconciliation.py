"""Operators' page for reconciliation: what each `manage.py reconcile` run checked and found, read-only."""

import json

from django.contrib import admin
from django.utils.html import format_html

from backoffice.shared import ReadOnlyAdminMixin
from backoffice.sites import operator_site
from reconciliation.models import ReconciliationRun


@admin.register(ReconciliationRun, site=operator_site)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What `manage.py reconcile` found, run by run; written by the command only."""

    list_display = ["started_at", "finished_at", "since", "gateway_checked", "clean", "discrepancy_count"]
    list_filter = ["clean", "gateway_checked"]
    date_hierarchy = "started_at"
    ordering = ["-started_at", "-id"]
    actions = None
    fields = [
        "id",
        "started_at",
        "finished_at",
        "since",
        "gateway_checked",
        "clean",
        "discrepancy_count",
        "checks",
    ]
    readonly_fields = fields

    @admin.display(description="results per check")
    def checks(self, run: ReconciliationRun) -> str:
        return format_html("<pre>{}</pre>", json.dumps(run.results, indent=2, sort_keys=True))
