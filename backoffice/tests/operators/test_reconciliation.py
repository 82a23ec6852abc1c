"""Operators' reconciliation runs: listed and filtered, never written from the admin."""

import pytest
from django.utils import timezone

from reconciliation.models import ReconciliationRun

pytestmark = pytest.mark.django_db


def test_reconciliation_runs_are_listed_read_only(operator_client):
    now = timezone.now()
    run = ReconciliationRun.objects.create(
        started_at=now,
        finished_at=now,
        clean=False,
        discrepancy_count=1,
        results={"zero_sum_journals": {"ok": False, "count": 1, "examples": ["abc"]}},
    )

    runs = "/admin/reconciliation/reconciliationrun/"
    listing = operator_client.get(runs, {"clean__exact": "0"})
    detail = operator_client.get(f"{runs}{run.pk}/change/")

    assert list(listing.context["cl"].result_list) == [run]
    assert b"zero_sum_journals" in detail.content
    assert operator_client.get(f"{runs}add/").status_code == 403
    assert operator_client.post(f"{runs}{run.pk}/change/", {"clean": "on"}).status_code == 403
    assert operator_client.post(f"{runs}{run.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ReconciliationRun.objects.get().clean is False
