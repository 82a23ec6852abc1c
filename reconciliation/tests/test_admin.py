"""The operators' view of the run records: listed and filtered, never added, changed or deleted."""

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from reconciliation.models import ReconciliationRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_reconciliation_runs_are_listed_read_only(operator_client):
    now = timezone.now()
    run = ReconciliationRun.objects.create(
        started_at=now,
        finished_at=now,
        clean=False,
        discrepancy_count=1,
        results={"zero_sum_journals": {"ok": False, "count": 1, "examples": ["abc"]}},
    )

    listing = operator_client.get("/admin/reconciliation/reconciliationrun/", {"clean__exact": "0"})
    detail = operator_client.get(f"/admin/reconciliation/reconciliationrun/{run.pk}/change/")

    assert list(listing.context["cl"].result_list) == [run]
    assert b"zero_sum_journals" in detail.content
    assert operator_client.get("/admin/reconciliation/reconciliationrun/add/").status_code == 403
    assert (
        operator_client.post(f"/admin/reconciliation/reconciliationrun/{run.pk}/change/", {"clean": "on"}).status_code
        == 403
    )
    assert (
        operator_client.post(f"/admin/reconciliation/reconciliationrun/{run.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert ReconciliationRun.objects.get().clean is False
