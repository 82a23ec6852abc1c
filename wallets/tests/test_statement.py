"""GET /wallet/statement: the caller's ledger over whole UTC days as streamed CSV."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from orders.models import PaymentMethod
from orders.services import order_purchase
from wallets import services
from wallets.models import LedgerEntry
from wallets.statements import CLOSING_BALANCE, OPENING_BALANCE, STATEMENT_COLUMNS
from wallets.tests.factories import fund_wallet, wallet_of

pytestmark = pytest.mark.django_db

STATEMENT = "/api/v1/wallet/statement"
D = Decimal


@pytest.fixture
def at(monkeypatch):
    """Return a function that makes the entries written next carry `created_at` = that UTC moment.

    Called without a moment it goes back to the real clock (tokens are checked against it).
    """
    real_now = timezone.now

    def travel(*args: int) -> None:
        moment = datetime(*args, tzinfo=UTC) if args else None
        monkeypatch.setattr("django.utils.timezone.now", (lambda: moment) if moment else real_now)

    return travel


def statement(client, **query) -> list[list[str]]:
    response = client.get(STATEMENT, query)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def history(at, user, merchant, product):
    """Entries on both sides of January 2026 for `user`: a deposit before, three in January, one after."""
    at(2025, 12, 31, 23, 59, 59)
    fund_wallet(user, "100.00")
    at(2026, 1, 1, 0, 0, 0)
    services.wallet_deposit(user=user, amount=D("50.00"), description="=HYPERLINK(evil)")
    at(2026, 1, 15, 12, 30, 0)
    order = order_purchase(buyer=user, product_id=product.id, quantity=2, method=PaymentMethod.WALLET)
    at(2026, 1, 31, 23, 59, 59)
    services.wallet_withdraw(user=user, amount=D("30.00"))
    at(2026, 2, 1, 0, 0, 0)
    services.wallet_deposit(user=user, amount=D("5.00"))
    at()
    return order


def test_statement_lists_the_range_between_its_opening_and_closing_balances(auth_client, user, history):
    rows = statement(auth_client(user), **{"from": "2026-01-01", "to": "2026-01-31"})

    january = list(
        LedgerEntry.objects.filter(
            wallet=wallet_of(user),
            created_at__gte=datetime(2026, 1, 1, tzinfo=UTC),
            created_at__lt=datetime(2026, 2, 1, tzinfo=UTC),
        ).order_by("sequence")
    )
    assert [entry.type for entry in january] == ["DEPOSIT", "PURCHASE", "WITHDRAWAL"]
    assert rows[0] == list(STATEMENT_COLUMNS)
    assert rows[1] == ["2026-01-01", "", OPENING_BALANCE, "", "", "", "100.00"]
    assert rows[2:-1] == [
        [
            entry.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            str(entry.id),
            entry.type,
            # A description that a spreadsheet would run as a formula is quoted.
            "'=HYPERLINK(evil)" if entry.description.startswith("=") else entry.description,
            str(entry.order_id or ""),
            str(entry.amount),
            str(entry.balance_after),
        ]
        for entry in january
    ]
    assert rows[3][4] == str(history.id)
    assert rows[2][0] == "2026-01-01T00:00:00Z"
    assert rows[4][0] == "2026-01-31T23:59:59Z"
    assert rows[-1] == ["2026-01-31", "", CLOSING_BALANCE, "", "", "", "100.00"]
    opening, closing = D(rows[1][6]), D(rows[-1][6])
    assert opening + sum(D(row[5]) for row in rows[2:-1]) == closing == D("100.00")


def test_a_single_day_and_a_range_with_no_entries(auth_client, user, history):
    client = auth_client(user)

    one_day = statement(client, **{"from": "2026-01-15", "to": "2026-01-15"})
    quiet = statement(client, **{"from": "2026-01-16", "to": "2026-01-30"})
    before_any = statement(client, **{"from": "2025-01-01", "to": "2025-12-30"})

    assert [row[2] for row in one_day] == ["type", OPENING_BALANCE, "PURCHASE", CLOSING_BALANCE]
    assert (one_day[1][6], one_day[-1][6]) == ("150.00", "130.00")
    assert [row[2] for row in quiet] == ["type", OPENING_BALANCE, CLOSING_BALANCE]
    assert quiet[1][6] == quiet[2][6] == "130.00"
    assert before_any[1][6] == before_any[2][6] == "0.00"


def test_a_merchant_gets_its_own_sales_and_nobody_else_s_entries(auth_client, merchant, user, history):
    rows = statement(auth_client(merchant), **{"from": "2026-01-01", "to": "2026-12-31"})

    assert [row[2] for row in rows[1:]] == [OPENING_BALANCE, "SALE", CLOSING_BALANCE]
    assert rows[2][4] == str(history.id)
    assert rows[-1][6] == str(wallet_of(merchant).balance) == "20.00"


def test_the_attachment_is_named_after_the_range(auth_client, user):
    response = auth_client(user).get(STATEMENT, {"from": "2026-03-01", "to": "2026-03-31"}, HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026-03-01-2026-03-31.csv"'


def test_a_long_statement_streams_in_chunks(auth_client, user, at):
    at(2026, 5, 1, 8, 0, 0)
    for _ in range(1500):
        services.wallet_deposit(user=user, amount=D("1.00"), description="x" * 40)
    at()

    response = auth_client(user).get(STATEMENT, {"from": "2026-05-01", "to": "2026-05-01"})
    chunks = list(response.streaming_content)

    assert len(chunks) > 1
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 1 + 1 + 1500 + 1
    assert rows[-1][6] == "1500.00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "from"),
        ({"from": "2026-01-01"}, "to"),
        ({"to": "2026-01-01"}, "from"),
        ({"from": "2026-13-01", "to": "2026-12-31"}, "from"),
        ({"from": "01/01/2026", "to": "2026-12-31"}, "from"),
        ({"from": "2026-01-01", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"from": "2026-02-01", "to": "2026-01-31"}, "to"),
        ({"from": "2026-01-01", "to": "2027-01-02"}, "to"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "to"),
    ],
)
def test_bad_ranges_are_validation_errors_naming_the_field(auth_client, user, query, field):
    response = auth_client(user).get(STATEMENT, query, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["errors"]


def test_a_leap_year_is_the_longest_statement(auth_client, user):
    response = auth_client(user).get(STATEMENT, {"from": "2028-01-01", "to": "2028-12-31"})

    assert response.status_code == 200


def test_the_statement_needs_a_token(api_client):
    response = api_client.get(STATEMENT, {"from": "2026-01-01", "to": "2026-01-31"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
