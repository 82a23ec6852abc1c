"""Account writes: registration, credential checks, JWT issue/rotation/revocation."""

from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import AUTH_VERSION_CLAIM, token_claims
from accounts.exceptions import EmailTaken, InvalidCredentials
from accounts.models import Role, User, normalize_email
from core.errors import InvalidToken


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def token_pair_for(*, user: User) -> TokenPair:
    """Issue a refresh token (recorded as outstanding) and its access token for `user`."""
    refresh = RefreshToken.for_user(user)
    # The access token copies these: a request authenticates from them without a query.
    for claim, value in token_claims(user).items():
        refresh[claim] = value
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def user_register(
    *, email: str, password: str, role: str = Role.USER, first_name: str = "", last_name: str = ""
) -> User:
    """Create a USER or MERCHANT account (its wallet is created in the same transaction)."""
    email = normalize_email(email)
    if role not in (Role.USER, Role.MERCHANT):
        raise ValueError(f"Role {role!r} cannot be registered.")
    if User.objects.filter(email=email).exists():
        raise EmailTaken()
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email, password=password, role=role, first_name=first_name, last_name=last_name
            )
    except IntegrityError as exc:
        # Two registrations of one email raced past the check above: the unique index decides.
        if User.objects.filter(email=email).exists():
            raise EmailTaken() from exc
        raise


def user_authenticate(*, email: str, password: str) -> User:
    """Return the active user with these credentials, or raise `InvalidCredentials`.

    An unknown email costs the same password hash as a wrong password (Django's
    ModelBackend hashes anyway), so the answer and its timing do not reveal which.
    """
    user = authenticate(email=normalize_email(email), password=password)
    if user is None:
        raise InvalidCredentials()
    return user


def _refresh_token_from(raw: str) -> RefreshToken:
    try:
        # Verifies signature, expiry, token type and the blacklist.
        return RefreshToken(raw)
    except TokenError as exc:
        raise InvalidToken() from exc


def _revoke(token: RefreshToken) -> OutstandingToken:
    """Blacklist `token` exactly once, or raise if it is unknown or already revoked."""
    # Locking the outstanding row serialises two requests presenting the same
    # refresh token: only the first may rotate or revoke it. The explicit
    # order_by replaces the model's default ordering on its nullable `user` FK,
    # whose LEFT JOIN PostgreSQL refuses to lock (jti is unique anyway).
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=token["jti"]).order_by("pk").first()
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise InvalidToken()
    BlacklistedToken.objects.create(token=outstanding)
    return outstanding


def auth_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate a refresh token: blacklist it and issue a new pair for its (active) user."""
    token = _refresh_token_from(refresh_token)
    with transaction.atomic():
        _revoke(token)
        user = User.objects.filter(id=token["user_id"], is_active=True).first()
        # A refresh token issued before its account changed (a new password, ...) is spent.
        if user is None or token.get(AUTH_VERSION_CLAIM) != user.auth_version:
            raise InvalidToken()
        return token_pair_for(user=user)


def auth_logout(*, refresh_token: str) -> None:
    """Revoke a refresh token so it can never be used again."""
    token = _refresh_token_from(refresh_token)
    with transaction.atomic():
        _revoke(token)
