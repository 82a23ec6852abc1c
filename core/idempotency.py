"""Idempotency keys for POSTs that move money (docs/api.md, Idempotency).

Put `@idempotent` directly on a viewset method, under its `@action` and
`@extend_schema` (the schema class documents the headers and the 409/422
answers of every `@idempotent` handler):

    @extend_schema(operation_id="wallet_deposit", ...)
    @problem_responses(409)
    @action(detail=False, methods=["post"])
    @idempotent
    def deposit(self, request): ...

A request carrying `Idempotency-Key` then goes through three steps:

1. Claim. A row (user, key) is inserted and committed before any work, with a
   fingerprint of the request (method, path, SHA-256 of the canonical JSON
   body) and a random fencing token. The unique constraint on (user, key)
   decides between concurrent duplicates: the others see the claim and answer
   409 `idempotency_key_in_use` (still running), 422 `idempotency_key_reused`
   (another path or body), or the stored response with `Idempotent-Replayed:
   true` (done), performing nothing.
2. Work, in `transaction.atomic()`.
3. Complete, in that same transaction: the response is written only if the
   row still carries our token. A claim left in progress longer than
   IDEMPOTENCY_LOCK_TIMEOUT_SECONDS (its worker was killed) may be taken over
   by a retry with a new token; should the original worker still be alive, its
   completion then finds a foreign token and its whole transaction, money
   movement included, rolls back. So the money moves once, and never without
   its stored response (or the other way round).

Stored: 2xx responses and the domain errors a service raises
(`ApplicationError` below 500), which are deterministic for that request.
Released (the claim deleted, so the client may retry): anything else, i.e.
input validation errors, 5xx, crashes; their work has been rolled back.
Records older than IDEMPOTENCY_KEY_TTL_HOURS are ignored (the key starts over)
and deleted by `manage.py purge_idempotency_keys`.

The claim must commit on its own, so the view must not run inside an outer
transaction (ATOMIC_REQUESTS stays off; services own their transactions).
"""

import functools
import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.response import Response

from core.errors import PROBLEM_CONTENT_TYPE, ApplicationError
from core.models import IdempotencyKey

logger = logging.getLogger("paymentflow.idempotency")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class IdempotencyKeyInUse(ApplicationError):
    status_code = 409
    code = "idempotency_key_in_use"
    title = "Idempotency key in use"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."


class IdempotencyKeyReused(ApplicationError):
    status_code = 422
    code = "idempotency_key_reused"
    title = "Idempotency key reused"
    default_detail = "This Idempotency-Key was already used with a different request path or body."


@dataclass(frozen=True)
class _Fingerprint:
    method: str
    path: str
    body_hash: str


@dataclass(frozen=True)
class _Claim:
    pk: int
    token: str


@dataclass(frozen=True)
class _Replay:
    status: int
    body: object


class _ClaimLost(Exception):
    """Our claim was taken over (it looked stale): this attempt must not complete."""


def _validated_key(raw: str) -> str:
    if not 1 <= len(raw) <= MAX_KEY_LENGTH:
        raise serializers.ValidationError({IDEMPOTENCY_HEADER: [f"Must be between 1 and {MAX_KEY_LENGTH} characters."]})
    # PostgreSQL refuses a NUL in text (it would be a 500 there); no control
    # character belongs in a key.
    if any(ord(character) < 32 or ord(character) == 127 for character in raw):
        raise serializers.ValidationError({IDEMPOTENCY_HEADER: ["Must not contain control characters."]})
    return raw


def _fingerprint(request) -> _Fingerprint:
    data = request.data
    if hasattr(data, "dict"):
        data = data.dict()
    # Canonical JSON (sorted keys, no whitespace): key order and spacing do not
    # make two requests different; any change of a value does.
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder, ensure_ascii=False)
    return _Fingerprint(
        method=request.method,
        path=request.path,
        body_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def _claim(*, user, key: str, fingerprint: _Fingerprint) -> _Claim | _Replay:
    """Claim the key for this request (committed at once), or decide what to answer instead."""
    now = timezone.now()
    token = secrets.token_hex(16)
    fresh = {
        "request_method": fingerprint.method,
        "request_path": fingerprint.path,
        "request_hash": fingerprint.body_hash,
        "token": token,
        "locked_at": now,
        "response_status": None,
        "response_body": None,
        "completed_at": None,
        "created_at": now,
    }
    with transaction.atomic():
        # The row lock serialises duplicates that find an existing claim, so a
        # stale claim is taken over by exactly one of them.
        record = IdempotencyKey.objects.select_for_update().filter(user=user, key=key).first()
        if record is None:
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(user=user, key=key, **fresh)
                return _Claim(pk=record.pk, token=token)
            except IntegrityError:
                # A concurrent duplicate inserted first; the unique constraint made us wait for its commit.
                record = IdempotencyKey.objects.select_for_update().filter(user=user, key=key).first()
                if record is None:
                    # ...and has already released it (its request failed): a retry may claim it.
                    raise IdempotencyKeyInUse() from None

        if record.created_at <= now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS):
            for field, value in fresh.items():
                setattr(record, field, value)
            record.save(update_fields=list(fresh))
            return _Claim(pk=record.pk, token=token)
        if (record.request_method, record.request_path, record.request_hash) != (
            fingerprint.method,
            fingerprint.path,
            fingerprint.body_hash,
        ):
            raise IdempotencyKeyReused()
        if record.is_completed:
            return _Replay(status=record.response_status, body=record.response_body)
        if record.locked_at > now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS):
            raise IdempotencyKeyInUse()
        logger.warning("Taking over the stale claim of Idempotency-Key %r (user %s)", key, record.user_id)
        record.token, record.locked_at = token, now
        record.save(update_fields=["token", "locked_at"])
        return _Claim(pk=record.pk, token=token)


def _complete(claim: _Claim, *, status: int, body) -> None:
    """Store the response, in the caller's transaction, if the claim is still ours.

    The conditional UPDATE locks the row and re-checks the token against its
    latest committed version (the same as SELECT … FOR UPDATE then compare), in
    one round trip. Zero rows means a retry took the claim over.
    """
    stored = IdempotencyKey.objects.filter(pk=claim.pk, token=claim.token, completed_at__isnull=True).update(
        response_status=status, response_body=body, completed_at=timezone.now()
    )
    if stored != 1:
        raise _ClaimLost()


def _complete_unless_failed(claim: _Claim, response: Response) -> None:
    # A 5xx is not stored: the claim is released below so the client can retry.
    if response.status_code < 500:
        _complete(claim, status=response.status_code, body=response.data)


def _release(claim: _Claim) -> None:
    """Delete our claim so the client can retry; a failure here only delays that retry until the lock timeout."""
    try:
        IdempotencyKey.objects.filter(pk=claim.pk, token=claim.token, completed_at__isnull=True).delete()
    except DatabaseError:
        logger.exception("Could not release Idempotency-Key claim %s", claim.pk)


def _replay_response(replay: _Replay) -> Response:
    return Response(
        replay.body,
        status=replay.status,
        headers={REPLAYED_HEADER: "true"},
        content_type=PROBLEM_CONTENT_TYPE if replay.status >= 400 else None,
    )


def _lost_claim_error() -> IdempotencyKeyInUse:
    return IdempotencyKeyInUse("A retry with this Idempotency-Key took over while this request ran; retry it.")


def _store_error(view, claim: _Claim, exc: ApplicationError) -> Response:
    """Store and return a domain error as this request's answer.

    The work's transaction has already rolled back; the error is deterministic
    for this request, so it is kept like a success. It is rendered outside any
    transaction of ours because the handler marks open blocks for rollback.
    """
    error_response = view.get_exception_handler()(exc, view.get_exception_handler_context())
    try:
        with transaction.atomic():
            _complete(claim, status=error_response.status_code, body=error_response.data)
    except _ClaimLost:
        raise _lost_claim_error() from None
    except BaseException:
        _release(claim)
        raise
    return error_response


def idempotent(view_method=None, *, in_transaction: Callable[[Any], bool] | None = None):
    """Make a viewset method honour the Idempotency-Key header (see the module docstring).

    By default the work and its stored response share one transaction. A view
    whose request moves no money but calls a payment gateway passes
    `in_transaction=lambda request: …` returning False for such requests: the
    work then commits as its services go (so no row lock is held across the
    gateway call) and the response is stored right after, in its own short
    transaction, still fenced by the claim's token.
    """
    if view_method is None:
        return functools.partial(idempotent, in_transaction=in_transaction)

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        raw_key = request.headers.get(IDEMPOTENCY_HEADER)
        # Keys are scoped to the authenticated user; the decorated views require one.
        if raw_key is None or not getattr(request.user, "is_authenticated", False):
            return view_method(self, request, *args, **kwargs)
        key = _validated_key(raw_key)
        outcome = _claim(user=request.user, key=key, fingerprint=_fingerprint(request))
        if isinstance(outcome, _Replay):
            return _replay_response(outcome)
        claim = outcome
        shared = in_transaction is None or in_transaction(request)

        try:
            if shared:
                # The response is stored in the transaction of the money movement.
                with transaction.atomic():
                    response = view_method(self, request, *args, **kwargs)
                    _complete_unless_failed(claim, response)
            else:
                response = view_method(self, request, *args, **kwargs)
                with transaction.atomic():
                    _complete_unless_failed(claim, response)
        except _ClaimLost:
            raise _lost_claim_error() from None
        except ApplicationError as exc:
            if exc.status_code >= 500:
                _release(claim)
                raise
            return _store_error(self, claim, exc)
        except BaseException:
            _release(claim)
            raise
        if response.status_code >= 500:
            _release(claim)
        return response

    wrapper.idempotent = True
    return wrapper


def idempotency_keys_expired():
    """Return the records older than IDEMPOTENCY_KEY_TTL_HOURS (requests ignore them already)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    return IdempotencyKey.objects.filter(created_at__lte=cutoff)


def idempotency_keys_purge() -> int:
    """Delete the expired records (beat, hourly; `manage.py purge_idempotency_keys`); return how many."""
    count, _ = idempotency_keys_expired().delete()
    return count
