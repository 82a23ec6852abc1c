"""Idempotency-Key (docs/api.md, Idempotency) through the wallet endpoints and a test-only viewset."""

import hashlib
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.tests.factories import UserFactory
from core.errors import ApplicationError
from core.idempotency import _claim, _ClaimLost, _complete, _Fingerprint, idempotent
from core.models import IdempotencyKey
from wallets.models import LedgerEntry
from wallets.services import wallet_deposit
from wallets.tests.factories import fund_wallet, wallet_of

pytestmark = pytest.mark.django_db

D = Decimal
DEPOSIT = "/api/v1/wallet/deposit"
WITHDRAW = "/api/v1/wallet/withdraw"


@pytest.fixture
def client(auth_client, user):
    return auth_client(user)


def post(client, path, body, key=None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, body, format="json", **headers)


def entry_count(user) -> int:
    return LedgerEntry.objects.filter(wallet=wallet_of(user)).count()


def fingerprint_of(path: str, canonical_body: str) -> _Fingerprint:
    return _Fingerprint("POST", path, hashlib.sha256(canonical_body.encode()).hexdigest())


def test_without_a_key_every_request_counts(client, user):
    post(client, DEPOSIT, {"amount": "5.00"})
    post(client, DEPOSIT, {"amount": "5.00"})
    assert wallet_of(user).balance == D("10.00")
    assert not IdempotencyKey.objects.exists()


def test_a_repeat_replays_the_stored_response_and_performs_nothing(client, user):
    first = post(client, DEPOSIT, {"amount": "25.00", "description": "Once"}, key="key-1")
    second = post(client, DEPOSIT, {"amount": "25.00", "description": "Once"}, key="key-1")

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert second["Content-Type"] == "application/json"
    assert (wallet_of(user).balance, entry_count(user)) == (D("25.00"), 1)


def test_the_response_is_stored_with_the_claim(client, user):
    response = post(client, DEPOSIT, {"amount": "3.00"}, key="stored")
    record = IdempotencyKey.objects.get(user=user, key="stored")
    assert (record.response_status, record.request_method, record.request_path) == (201, "POST", DEPOSIT)
    assert record.completed_at is not None
    assert record.response_body["id"] == response.json()["id"]
    assert record.response_body["balance_after"] == "3.00"


def test_key_order_and_number_spelling_do_not_make_a_different_request(client, user):
    first = client.post(
        DEPOSIT, data='{"amount": 10.10, "description": "x"}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    second = client.post(
        DEPOSIT,
        data='{"description":"x","amount":"10.10"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert (first.status_code, second.status_code, second["Idempotent-Replayed"]) == (201, 201, "true")
    assert entry_count(user) == 1


def test_same_key_with_another_amount_is_refused(client, user):
    post(client, DEPOSIT, {"amount": "10.00"}, key="k")
    response = post(client, DEPOSIT, {"amount": "20.00"}, key="k")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert (wallet_of(user).balance, entry_count(user)) == (D("10.00"), 1)


def test_same_key_on_another_path_is_refused(client, user):
    fund_wallet(user, "50.00")
    post(client, DEPOSIT, {"amount": "10.00"}, key="k")
    response = post(client, WITHDRAW, {"amount": "10.00"}, key="k")
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert wallet_of(user).balance == D("60.00")


def test_keys_are_scoped_to_the_user(auth_client, user):
    other = UserFactory()
    assert post(auth_client(user), DEPOSIT, {"amount": "10.00"}, key="shared").status_code == 201
    response = post(auth_client(other), DEPOSIT, {"amount": "10.00"}, key="shared")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert (wallet_of(user).balance, wallet_of(other).balance) == (D("10.00"), D("10.00"))


def test_a_domain_error_is_stored_and_replayed(client, user):
    first = post(client, WITHDRAW, {"amount": "50.00"}, key="k")
    fund_wallet(user, "100.00")
    second = post(client, WITHDRAW, {"amount": "50.00"}, key="k")

    assert (first.status_code, first.json()["code"]) == (409, "insufficient_funds")
    assert (second.status_code, second.json()) == (409, first.json())
    assert second["Idempotent-Replayed"] == "true"
    assert second["Content-Type"].startswith("application/problem+json")
    assert wallet_of(user).balance == D("100.00")


def test_an_input_error_releases_the_key(client, user):
    bad = post(client, DEPOSIT, {"amount": "1.005"}, key="k")
    assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")
    assert not IdempotencyKey.objects.filter(key="k").exists()
    good = post(client, DEPOSIT, {"amount": "1.00"}, key="k")
    assert good.status_code == 201
    assert "Idempotent-Replayed" not in good


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_key_length_is_validated(client, user, key):
    response = post(client, DEPOSIT, {"amount": "1.00"}, key=key)
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert "Idempotency-Key" in response.json()["errors"]
    assert entry_count(user) == 0


def test_a_key_of_255_characters_is_accepted(client):
    assert post(client, DEPOSIT, {"amount": "1.00"}, key="k" * 255).status_code == 201


def test_a_key_still_in_progress_answers_409(client, user):
    _claim(user=user, key="busy", fingerprint=fingerprint_of(DEPOSIT, '{"amount":"5.00"}'))
    response = post(client, DEPOSIT, {"amount": "5.00"}, key="busy")
    assert (response.status_code, response.json()["code"]) == (409, "idempotency_key_in_use")
    assert entry_count(user) == 0


def test_a_stale_claim_is_taken_over(client, user, settings):
    _claim(user=user, key="stale", fingerprint=fingerprint_of(DEPOSIT, '{"amount":"5.00"}'))
    IdempotencyKey.objects.filter(key="stale").update(
        locked_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS + 1)
    )
    response = post(client, DEPOSIT, {"amount": "5.00"}, key="stale")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert post(client, DEPOSIT, {"amount": "5.00"}, key="stale")["Idempotent-Replayed"] == "true"
    assert entry_count(user) == 1


def test_the_fencing_token_stops_a_superseded_claim(user, settings):
    fingerprint = fingerprint_of(DEPOSIT, '{"amount":"5.00"}')
    original = _claim(user=user, key="fenced", fingerprint=fingerprint)
    IdempotencyKey.objects.filter(key="fenced").update(locked_at=timezone.now() - timedelta(hours=1))
    takeover = _claim(user=user, key="fenced", fingerprint=fingerprint)
    assert takeover.token != original.token

    with pytest.raises(_ClaimLost):
        _complete(original, status=201, body={"late": True})
    _complete(takeover, status=201, body={"winner": True})
    assert IdempotencyKey.objects.get(key="fenced").response_body == {"winner": True}


def test_an_expired_record_is_ignored(client, user, settings):
    post(client, DEPOSIT, {"amount": "5.00"}, key="old")
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, seconds=1)
    )
    response = post(client, DEPOSIT, {"amount": "7.00"}, key="old")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert wallet_of(user).balance == D("12.00")


# --- the decorator on a test-only viewset: crashes and gateway-style errors --------------


class _Unavailable(ApplicationError):
    status_code = 503
    code = "gateway_unavailable"


class _Refused(ApplicationError):
    status_code = 409
    code = "insufficient_funds"


class CrashingViewSet(viewsets.ViewSet):
    @action(detail=False, methods=["post"])
    @idempotent
    def crash_after_moving_money(self, request):
        wallet_deposit(user=request.user, amount=D("5.00"))
        raise RuntimeError("worker died after the movement, before the response")

    @action(detail=False, methods=["post"])
    @idempotent
    def refused_after_moving_money(self, request):
        wallet_deposit(user=request.user, amount=D("5.00"))
        raise _Refused("refused by a later step")

    @action(detail=False, methods=["post"])
    @idempotent
    def unavailable(self, request):
        wallet_deposit(user=request.user, amount=D("5.00"))
        raise _Unavailable("gateway down")

    @action(detail=False, methods=["post"])
    @idempotent
    def ok(self, request):
        return Response({"done": True}, status=201)


def call(user, action_name: str, key: str):
    request = APIRequestFactory().post(f"/test/{action_name}", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    force_authenticate(request, user=user)
    return CrashingViewSet.as_view({"post": action_name})(request)


def test_a_crash_rolls_back_the_movement_and_releases_the_key(user):
    response = call(user, "crash_after_moving_money", "k")
    assert response.status_code == 500
    assert entry_count(user) == 0
    assert wallet_of(user).balance == D("0.00")
    assert not IdempotencyKey.objects.filter(key="k").exists()


def test_a_domain_error_after_a_write_rolls_the_write_back_and_is_stored(user):
    first, second = call(user, "refused_after_moving_money", "k"), call(user, "refused_after_moving_money", "k")
    assert (first.status_code, first.data["code"]) == (409, "insufficient_funds")
    assert (second.status_code, second.data, second["Idempotent-Replayed"]) == (409, first.data, "true")
    assert entry_count(user) == 0
    assert wallet_of(user).balance == D("0.00")


def test_a_5xx_domain_error_is_not_stored(user):
    response = call(user, "unavailable", "k")
    assert (response.status_code, response.data["code"]) == (503, "gateway_unavailable")
    assert entry_count(user) == 0
    assert not IdempotencyKey.objects.filter(key="k").exists()


def test_the_decorator_works_on_any_action(user):
    first, second = call(user, "ok", "k"), call(user, "ok", "k")
    assert (first.status_code, first.data) == (201, {"done": True})
    assert (second.status_code, second.data, second["Idempotent-Replayed"]) == (201, {"done": True}, "true")


# --- purge command --------------------------------------------------------------


def _records(user, ages_in_hours):
    now = timezone.now()
    for i, age in enumerate(ages_in_hours):
        IdempotencyKey.objects.create(
            user=user,
            key=f"k{i}",
            request_method="POST",
            request_path=DEPOSIT,
            request_hash="0" * 64,
            token="t",
            locked_at=now - timedelta(hours=age),
            created_at=now - timedelta(hours=age),
        )


def test_purge_deletes_only_expired_records(user):
    _records(user, [0, 1, 23.9, 24.1, 100])
    out = StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "Deleted 2 idempotency record(s) older than 24 h" in out.getvalue()
    assert IdempotencyKey.objects.count() == 3


def test_purge_dry_run_deletes_nothing(user):
    _records(user, [0, 30])
    out = StringIO()
    call_command("purge_idempotency_keys", "--dry-run", stdout=out)
    assert "Dry run: 1 idempotency record(s)" in out.getvalue()
    assert IdempotencyKey.objects.count() == 2


# --- OpenAPI ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [DEPOSIT, WITHDRAW])
def test_schema_documents_the_headers_and_answers(api_client, path):
    schema = api_client.get("/api/v1/schema", {"format": "json"}).json()
    operation = schema["paths"][path]["post"]
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert {"201", "400", "401", "409", "422"} <= set(operation["responses"])
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]


def test_the_schema_documents_any_idempotent_handler():
    """The schema class reads the decorator's mark; no decorator order can lose the headers."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    refund = schema["paths"]["/api/v1/orders/{id}/refund"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in refund["parameters"] if p["in"] == "header"]
    assert {"409", "422"} <= set(refund["responses"])
    login = schema["paths"]["/api/v1/auth/login"]["post"]
    assert "Idempotency-Key" not in [p["name"] for p in login.get("parameters", [])]
