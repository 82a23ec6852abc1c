"""The wallet endpoints (docs/api.md, Wallets and the ledger), row by row, through real JWTs."""

import json
import uuid
from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from wallets import services
from wallets.models import EntryType, JournalKind, LedgerEntry, Wallet
from wallets.services import Leg
from wallets.tests.factories import assert_ledger_consistent, fund_wallet, post_legs, wallet_of

pytestmark = pytest.mark.django_db

D = Decimal
WALLET = "/api/v1/wallet"
DEPOSIT = "/api/v1/wallet/deposit"
WITHDRAW = "/api/v1/wallet/withdraw"
TRANSACTIONS = "/api/v1/wallet/transactions"
TRANSACTION_KEYS = {"id", "type", "amount", "balanceBefore", "balanceAfter", "description", "orderId", "createdAt"}


@pytest.fixture
def client(auth_client, user):
    return auth_client(user)


def post_raw(client, path, raw_body: str):
    """POST a body exactly as written, so JSON numbers stay numbers."""
    return client.post(path, data=raw_body, content_type="application/json")


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def assert_unchanged(user, balance: str, entry_count: int):
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.entry_count) == (D(balance), entry_count)
    assert LedgerEntry.objects.filter(wallet=wallet).count() == entry_count


# --- GET /wallet ----------------------------------------------------------------


def test_get_wallet_shape(client, user):
    fund_wallet(user, "12.30")
    response = client.get(WALLET)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "balance", "currency", "isFrozen", "updatedAt"}
    wallet = wallet_of(user)
    assert body["id"] == str(wallet.id)
    assert (body["balance"], body["currency"], body["isFrozen"]) == ("12.30", "USD", False)
    assert body["updatedAt"].endswith("Z")


def test_new_wallet_shows_zero_with_two_places(client):
    assert client.get(WALLET).json()["balance"] == "0.00"


@pytest.mark.parametrize("path", [WALLET, TRANSACTIONS])
def test_reads_need_a_token(api_client, path):
    assert_problem(api_client.get(path), 401, "not_authenticated")


@pytest.mark.parametrize("path", [DEPOSIT, WITHDRAW])
def test_writes_need_a_token(api_client, path, user):
    assert_problem(api_client.post(path, {"amount": "10.00"}, format="json"), 401, "not_authenticated")
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_problem(api_client.post(path, {"amount": "10.00"}, format="json"), 401, "invalid_token")
    assert_unchanged(user, "0.00", 0)


def test_merchants_have_wallets_too(auth_client, merchant):
    response = auth_client(merchant).post(DEPOSIT, {"amount": "5.00"}, format="json")
    assert response.status_code == 201
    assert wallet_of(merchant).balance == D("5.00")


# --- POST /wallet/deposit -------------------------------------------------------


def test_deposit_returns_the_transaction(client, user):
    response = client.post(DEPOSIT, {"amount": "100.50", "description": "Payday"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == TRANSACTION_KEYS
    entry = LedgerEntry.objects.get(id=body["id"])
    assert entry.wallet == wallet_of(user)
    assert body == {
        "id": str(entry.id),
        "type": "DEPOSIT",
        "amount": "100.50",
        "balanceBefore": "0.00",
        "balanceAfter": "100.50",
        "description": "Payday",
        "orderId": None,
        "createdAt": body["createdAt"],
    }
    assert body["createdAt"].endswith("Z")
    assert client.get(WALLET).json()["balance"] == "100.50"
    assert_ledger_consistent()


@pytest.mark.parametrize(
    ("raw_amount", "stored"),
    [
        ("0.01", "0.01"),
        ('"0.01"', "0.01"),
        ("9999.99", "9999.99"),
        ("10000.00", "10000.00"),
        ('"10000"', "10000.00"),
        ("10.10", "10.10"),  # a JSON number never passes through a binary float
        ("10.1", "10.10"),
        ("7", "7.00"),
        ('"1.50"', "1.50"),
    ],
)
def test_deposit_accepts_valid_amounts(client, user, raw_amount, stored):
    response = post_raw(client, DEPOSIT, f'{{"amount": {raw_amount}}}')
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == stored
    assert wallet_of(user).balance == D(stored)


def test_deposit_above_maximum(client, user):
    assert_problem(post_raw(client, DEPOSIT, '{"amount": 10000.01}'), 400, "amount_above_maximum")
    assert_problem(post_raw(client, DEPOSIT, '{"amount": "250000"}'), 400, "amount_above_maximum")
    assert_unchanged(user, "0.00", 0)


def test_deposit_maximum_follows_the_setting(client, user, settings):
    settings.MAXIMUM_DEPOSIT = D("100.00")
    assert_problem(client.post(DEPOSIT, {"amount": "100.01"}, format="json"), 400, "amount_above_maximum")
    assert client.post(DEPOSIT, {"amount": "100.00"}, format="json").status_code == 201


@pytest.mark.parametrize(
    "raw_body",
    [
        '{"amount": 1.005}',
        '{"amount": "1.005"}',
        '{"amount": "abc"}',
        '{"amount": -5}',
        '{"amount": "-5.00"}',
        '{"amount": 0}',
        '{"amount": "0.00"}',
        '{"amount": true}',
        '{"amount": null}',
        '{"amount": "NaN"}',
        '{"amount": "Infinity"}',
        '{"amount": "-Infinity"}',
        '{"amount": NaN}',
        '{"amount": Infinity}',
        '{"amount": 1e400}',
        '{"amount": ""}',
        '{"amount": [10]}',
        '{"amount": {"value": 10}}',
        '{"amount": 100000000000000.00}',
        # Python's Decimal() reads all of these; the API takes ASCII digits and one "." only.
        '{"amount": "\u0661\u0662"}',  # Arabic-Indic 12
        '{"amount": "\uff11\uff12"}',  # fullwidth 12
        '{"amount": "1_000"}',
        '{"amount": " 5 "}',
        '{"amount": "+5"}',
        '{"amount": "5."}',
        '{"amount": ".5"}',
        '{"amount": "1e3"}',
        '{"amount": 1e3}',
        '{"amount": 1E+2}',
        '{"amount": "10.500"}',
        '{"amount": 10.500}',
        '{"amount": "0x10"}',
        "{}",
        '{"description": "no amount"}',
        "[]",
        "not json",
        '{"amount": 10, "description": ' + json.dumps("x" * 256) + "}",
    ],
)
def test_deposit_rejects_invalid_input(client, user, raw_body):
    response = post_raw(client, DEPOSIT, raw_body)
    assert_problem(response, 400, "validation_error")
    assert_unchanged(user, "0.00", 0)


def test_validation_error_names_the_field(client):
    body = post_raw(client, DEPOSIT, '{"amount": 1.005}').json()
    assert list(body["errors"]) == ["amount"]


def test_description_of_255_characters_is_accepted(client):
    response = client.post(DEPOSIT, {"amount": "1.00", "description": "d" * 255}, format="json")
    assert response.status_code == 201
    assert response.json()["description"] == "d" * 255


def test_unknown_keys_are_ignored(client, user):
    response = client.post(
        DEPOSIT,
        {"amount": "5.00", "balance": "1000000.00", "type": "ADJUSTMENT", "balanceAfter": "9.99", "userId": "x"},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["type"], response.json()["balanceAfter"]) == ("DEPOSIT", "5.00")
    assert_unchanged(user, "5.00", 1)


def test_deposit_to_frozen_wallet(client, user):
    fund_wallet(user, "10.00")
    services.wallet_freeze(wallet=wallet_of(user), operator=None)
    assert_problem(client.post(DEPOSIT, {"amount": "5.00"}, format="json"), 409, "wallet_frozen")
    assert client.get(WALLET).json()["isFrozen"] is True
    assert_unchanged(user, "10.00", 1)


def test_deposit_rejects_other_methods(client):
    assert_problem(client.get(DEPOSIT), 405, "method_not_allowed")


def test_deposit_rejects_form_bodies(client, user):
    response = client.post(DEPOSIT, {"amount": "5.00"})
    assert_problem(response, 415, "unsupported_media_type")
    assert_unchanged(user, "0.00", 0)


# --- POST /wallet/withdraw ------------------------------------------------------


def test_withdraw_returns_a_negative_transaction(client, user):
    fund_wallet(user, "100.00")
    response = client.post(WITHDRAW, {"amount": 30, "description": "Rent"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == TRANSACTION_KEYS
    assert (body["type"], body["amount"], body["balanceBefore"], body["balanceAfter"], body["description"]) == (
        "WITHDRAWAL",
        "-30.00",
        "100.00",
        "70.00",
        "Rent",
    )
    assert client.get(WALLET).json()["balance"] == "70.00"
    assert_ledger_consistent()


def test_withdraw_the_whole_balance(client, user):
    fund_wallet(user, "20.00")
    assert client.post(WITHDRAW, {"amount": "20.00"}, format="json").json()["balanceAfter"] == "0.00"


def test_withdraw_more_than_the_balance(client, user):
    fund_wallet(user, "20.00")
    response = client.post(WITHDRAW, {"amount": "50.00"}, format="json")
    assert_problem(response, 409, "insufficient_funds")
    assert response.json()["detail"] == "Wallet balance 20.00 is less than 50.00."
    assert_unchanged(user, "20.00", 1)


def test_withdraw_from_an_empty_wallet(client, user):
    assert_problem(client.post(WITHDRAW, {"amount": "1.00"}, format="json"), 409, "insufficient_funds")
    assert_unchanged(user, "0.00", 0)


def test_withdraw_below_minimum(client, user):
    fund_wallet(user, "20.00")
    assert_problem(client.post(WITHDRAW, {"amount": "0.99"}, format="json"), 400, "amount_below_minimum")
    assert client.post(WITHDRAW, {"amount": "1.00"}, format="json").status_code == 201
    assert_unchanged(user, "19.00", 2)


def test_withdraw_minimum_follows_the_setting(client, user, settings):
    fund_wallet(user, "20.00")
    settings.MINIMUM_WITHDRAWAL = D("5.00")
    assert_problem(client.post(WITHDRAW, {"amount": "4.99"}, format="json"), 400, "amount_below_minimum")


@pytest.mark.parametrize("raw_body", ['{"amount": 1.005}', '{"amount": "abc"}', '{"amount": -5}', '{"amount": 0}'])
def test_withdraw_rejects_invalid_amounts(client, user, raw_body):
    fund_wallet(user, "20.00")
    assert_problem(post_raw(client, WITHDRAW, raw_body), 400, "validation_error")
    assert_unchanged(user, "20.00", 1)


def test_withdraw_from_frozen_wallet(client, user):
    fund_wallet(user, "20.00")
    services.wallet_freeze(wallet=wallet_of(user), operator=None)
    assert_problem(client.post(WITHDRAW, {"amount": "5.00"}, format="json"), 409, "wallet_frozen")
    assert_unchanged(user, "20.00", 1)


def test_a_negative_balance_cannot_be_reached_through_the_api(client, user):
    """The CHECK constraint is the last line; the API never even gets there."""
    fund_wallet(user, "10.00")
    for amount, status in (("10.01", 409), ("10.00", 201), ("1.00", 409), ("5.00", 409)):
        assert client.post(WITHDRAW, {"amount": amount}, format="json").status_code == status
    assert wallet_of(user).balance == D("0.00")
    assert_ledger_consistent()


# --- GET /wallet/transactions ---------------------------------------------------


def test_transactions_newest_first_with_consistent_balances(client, user):
    client.post(DEPOSIT, {"amount": "100.00"}, format="json")
    client.post(WITHDRAW, {"amount": "30.00"}, format="json")
    client.post(DEPOSIT, {"amount": "0.01"}, format="json")

    response = client.get(TRANSACTIONS)
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert [(t["type"], t["amount"]) for t in body["results"]] == [
        ("DEPOSIT", "0.01"),
        ("WITHDRAWAL", "-30.00"),
        ("DEPOSIT", "100.00"),
    ]
    for row in body["results"]:
        assert set(row) == TRANSACTION_KEYS
        assert D(row["balanceAfter"]) == D(row["balanceBefore"]) + D(row["amount"])
    assert body["results"][0]["balanceAfter"] == client.get(WALLET).json()["balance"] == "70.01"


def test_transactions_show_order_ids(client, user):
    seller = UserFactory()
    fund_wallet(user, "10.00")
    order_id = uuid.uuid4()
    post_legs(
        kind=JournalKind.PURCHASE,
        order_id=order_id,
        legs=[
            Leg(wallet=wallet_of(user), amount=D("-4.00"), entry_type=EntryType.PURCHASE),
            Leg(wallet=wallet_of(seller), amount=D("4.00"), entry_type=EntryType.SALE),
        ],
    )
    latest = client.get(TRANSACTIONS).json()["results"][0]
    assert (latest["type"], latest["orderId"]) == ("PURCHASE", str(order_id))


def test_transactions_pagination(client, user):
    for _ in range(5):
        fund_wallet(user, "1.00")
    page = client.get(TRANSACTIONS, {"limit": 2, "page": 2}).json()
    assert page["count"] == 5
    assert [t["balanceAfter"] for t in page["results"]] == ["3.00", "2.00"]
    assert page["next"].endswith("/api/v1/wallet/transactions?limit=2&page=3")
    assert page["previous"].endswith("/api/v1/wallet/transactions?limit=2")
    assert client.get(TRANSACTIONS, {"limit": 2, "page": 3}).json()["results"][0]["balanceAfter"] == "1.00"


def test_transactions_limit_is_capped_at_100(client, user):
    wallet = wallet_of(user)
    external = services.system_wallet(kind="EXTERNAL")
    for _ in range(101):
        post_legs(
            kind=JournalKind.DEPOSIT,
            legs=[
                Leg(wallet=wallet, amount=D("1.00"), entry_type=EntryType.DEPOSIT),
                Leg(wallet=external, amount=D("-1.00"), entry_type=EntryType.DEPOSIT),
            ],
        )
    body = client.get(TRANSACTIONS, {"limit": 1000}).json()
    assert (body["count"], len(body["results"])) == (101, 100)
    assert len(client.get(TRANSACTIONS).json()["results"]) == 20


def test_transactions_page_out_of_range(client, user):
    fund_wallet(user, "1.00")
    assert_problem(client.get(TRANSACTIONS, {"page": 2}), 404, "not_found")


def test_transactions_empty(client):
    assert client.get(TRANSACTIONS).json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_transactions_filter_by_type(client, user):
    fund_wallet(user, "50.00")
    client.post(WITHDRAW, {"amount": "10.00"}, format="json")
    client.post(WITHDRAW, {"amount": "5.00"}, format="json")
    body = client.get(TRANSACTIONS, {"type": "WITHDRAWAL"}).json()
    assert body["count"] == 2
    assert [t["amount"] for t in body["results"]] == ["-5.00", "-10.00"]
    assert client.get(TRANSACTIONS, {"type": "SALE"}).json()["count"] == 0


@pytest.mark.parametrize("bad_type", ["deposit", "BOGUS", "FEE", "DEPOSIT,SALE"])
def test_transactions_unknown_type(client, bad_type):
    assert_problem(client.get(TRANSACTIONS, {"type": bad_type}), 400, "validation_error")


def test_an_empty_type_filter_means_all_types(client, user):
    fund_wallet(user, "1.00")
    assert client.get(TRANSACTIONS, {"type": ""}).json()["count"] == 1


def test_transactions_are_private(auth_client, user):
    fund_wallet(user, "10.00")
    other = UserFactory()
    fund_wallet(other, "99.00")
    mine = auth_client(user).get(TRANSACTIONS).json()
    assert [t["amount"] for t in mine["results"]] == ["10.00"]


def test_wallet_endpoints_see_only_the_callers_wallet(auth_client, user):
    other = UserFactory()
    fund_wallet(other, "99.00")
    assert auth_client(user).get(WALLET).json()["id"] == str(wallet_of(user).id)
    auth_client(user).post(DEPOSIT, {"amount": "1.00"}, format="json")
    assert wallet_of(other).balance == D("99.00")
    assert Wallet.objects.filter(user=other).get().entry_count == 1


def _post_deposits(user, count: int) -> None:
    wallet = wallet_of(user)
    external = services.system_wallet(kind="EXTERNAL")
    for i in range(count):
        amount = D(i + 1)
        post_legs(
            kind=JournalKind.DEPOSIT,
            legs=[
                Leg(wallet=wallet, amount=amount, entry_type=EntryType.DEPOSIT, description=f"#{i + 1}"),
                Leg(wallet=external, amount=-amount, entry_type=EntryType.DEPOSIT),
            ],
        )


@pytest.mark.parametrize("limit", [1, 3, 7, 100])
def test_history_pages_match_the_plain_newest_first_order(client, user, limit):
    _post_deposits(user, 23)
    expected = [f"#{n}" for n in range(23, 0, -1)]
    seen, page = [], 1
    while True:
        response = client.get(TRANSACTIONS, {"limit": limit, "page": page})
        if response.status_code == 404:
            break
        body = response.json()
        assert body["count"] == 23
        seen += [t["description"] for t in body["results"]]
        page += 1
    assert seen == expected
    assert page == -(-23 // limit) + 1


def test_a_deep_history_page_needs_no_count_and_no_offset(client, user, django_assert_max_num_queries):
    _post_deposits(user, 30)
    with django_assert_max_num_queries(3) as captured:
        body = client.get(TRANSACTIONS, {"limit": 5, "page": 6}).json()
    assert [t["description"] for t in body["results"]] == ["#5", "#4", "#3", "#2", "#1"]
    sql = " ".join(q["sql"] for q in captured.captured_queries).upper()
    assert "COUNT(" not in sql and "OFFSET" not in sql
