"""The operators' view of the run records: listed and filtered, never added, changed or deleted."""

import pytest
from django.utils import timezone

from reconciliation.models import ReconciliationRun

pytestmark = pytest.mark.django_db


def test_reconciliation_runs_are_listed_read_only(admin_client):
    # pytest-django's superuser keeps the USER role, as `createsuperuser` does: an operator.
    now = timezone.now()
    run = ReconciliationRun.objects.create(
        started_at=now,
        finished_at=now,
        clean=False,
        discrepancy_count=1,
        results={"zero_sum_journals": {"ok": False, "count": 1, "examples": ["abc"]}},
    )

    listing = admin_client.get("/admin/reconciliation/reconciliationrun/", {"clean__exact": "0"})
    detail = admin_client.get(f"/admin/reconciliation/reconciliationrun/{run.pk}/change/")

    assert list(listing.context["cl"].result_list) == [run]
    assert b"zero_sum_journals" in detail.content
    assert admin_client.get("/admin/reconciliation/reconciliationrun/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/reconciliation/reconciliationrun/{run.pk}/change/", {"clean": "on"}).status_code
        == 403
    )
    assert (
        admin_client.post(f"/admin/reconciliation/reconciliationrun/{run.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert ReconciliationRun.objects.get().clean is False
