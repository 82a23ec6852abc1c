"""Persistent connections are checked without a query, and a PostgreSQL restart never costs a wrong answer."""

from decimal import Decimal

import pytest
import requests
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.services import token_pair_for
from accounts.tests.factories import UserFactory
from core.tests.localstripe import wait_until
from paymentflow.tests.servers import API, database_environment, gunicorn
from wallets.tests.factories import fund_wallet


def terminate_other_sessions() -> int:
    """End every other session on the test database, as a restart of PostgreSQL ends them all."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_health_check_sends_no_query_and_sees_a_closed_connection():
    other = connections.create_connection("default")
    other.ensure_connection()
    try:
        with CaptureQueriesContext(other) as queries:
            assert other.is_usable()
        assert len(queries) == 0

        terminate_other_sessions()

        wait_until(lambda: not other.is_usable(), timeout=5)
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_restart_of_postgresql_costs_no_failed_request_and_no_wrong_answer(tmp_path):
    buyer = UserFactory()
    fund_wallet(buyer, "42.50")
    headers = {"Authorization": f"Bearer {token_pair_for(user=buyer).access}"}
    env = {**database_environment(), "WEB_CONCURRENCY": "2", "WEB_THREADS": "2"}
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log") as server:
        wallet = f"{server.url}{API}/wallet"
        # Every worker thread opens its persistent connection.
        for _ in range(20):
            assert requests.get(wallet, headers=headers, timeout=10).status_code == 200

        assert terminate_other_sessions() >= 2

        answers = [requests.get(wallet, headers=headers, timeout=10) for _ in range(20)]

    assert [(answer.status_code, Decimal(answer.json()["balance"])) for answer in answers] == [
        (200, Decimal("42.50"))
    ] * 20
