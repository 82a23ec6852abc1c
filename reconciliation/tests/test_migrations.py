"""The run records moved from wallets to this app without losing a row or a granted permission."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from reconciliation.models import ReconciliationRun

BEFORE_THE_MOVE = [("wallets", "0005_constraints_round_to_cent"), ("reconciliation", None)]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_runs_recorded_before_the_move_survive_it():
    # Given a database as it was before the move: the runs in wallets' table, a group allowed to view them.
    migrate(BEFORE_THE_MOVE)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO wallets_reconciliationrun "
            "(started_at, finished_at, since, gateway_checked, clean, discrepancy_count, results) "
            "VALUES (%s, %s, NULL, FALSE, FALSE, 3, %s) RETURNING id",
            [now, now, '{"wallet_balances": {"ok": false, "count": 3}}'],
        )
        (run_id,) = cursor.fetchone()
    auditors = Group.objects.create(name="auditors")
    auditors.permissions.add(
        Permission.objects.get(content_type__app_label="wallets", codename="view_reconciliationrun")
    )

    # When the migrations run forward.
    migrate(None)

    # Then the run is this app's, and the group may still view runs.
    run = ReconciliationRun.objects.get()
    assert (run.id, run.clean, run.discrepancy_count) == (run_id, False, 3)
    assert run.results == {"wallet_balances": {"ok": False, "count": 3}}
    assert ReconciliationRun._meta.db_table == "reconciliation_reconciliationrun"
    assert list(auditors.permissions.values_list("content_type__app_label", "codename")) == [
        ("reconciliation", "view_reconciliationrun")
    ]
    assert not ContentType.objects.filter(app_label="wallets", model="reconciliationrun").exists()
    # The id sequence went along with the table.
    assert ReconciliationRun.objects.create(started_at=now, finished_at=now, clean=True).id == run_id + 1
