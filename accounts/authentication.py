"""JWT authentication that reads no user row: the token's claims and the user's auth version in the cache.

A token carries the user's id, role, staff flags and the auth version it was
issued under (`token_claims`); one without them (issued before auth versions
existed) is refused, and its user logs in again once. A request is authenticated when that version
is still the user's (accounts/auth_versions.py): the user it gets is built
from the claims, with every other field deferred, so code that needs the
email or a name loads it on first use (one query then, none otherwise).
"""

from uuid import UUID

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.auth_versions import NO_VERSION, auth_version_cached, auth_version_remember
from accounts.models import User

AUTH_VERSION_CLAIM = "auth_version"

# Token claim → User field, for the fields a request may decide on without a query.
_CLAIMED_FIELDS = {"user_id": "id", "role": "role", "is_staff": "is_staff", "is_superuser": "is_superuser"}
# The fields a request's user is built with, in the model's order (`Model.from_db` wants
# it): the claimed ones, and what a version match proves. Every other field is deferred.
_LOADED_FIELDS = tuple(
    field.attname
    for field in User._meta.concrete_fields
    if field.attname in {*_CLAIMED_FIELDS.values(), "is_active", "auth_version"}
)


def token_claims(user: User) -> dict:
    """Return the claims a new token of `user` carries besides simplejwt's own (`user_id`, expiry, jti)."""
    return {
        "role": user.role,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        AUTH_VERSION_CLAIM: user.auth_version,
    }


def auth_version_current(*, user_id: UUID | str) -> int:
    """Return the user's auth version (NO_VERSION if it cannot authenticate): the cache's, else the database's."""
    version = auth_version_cached(user_id=user_id)
    if version is None:
        row = User.objects.filter(id=user_id).values_list("auth_version", "is_active").first()
        version = row[0] if row is not None and row[1] else NO_VERSION
        auth_version_remember(user_id=user_id, version=version)
    return version


class VersionedJWTAuthentication(JWTAuthentication):
    """Authenticate a Bearer token whose auth version is still its user's; 401 invalid_token otherwise."""

    def get_user(self, validated_token) -> User:
        try:
            claimed = {field: validated_token[claim] for claim, field in _CLAIMED_FIELDS.items()}
            version = validated_token[AUTH_VERSION_CLAIM]
            user_id = UUID(claimed["id"])
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidToken() from exc
        if version == NO_VERSION or auth_version_current(user_id=user_id) != version:
            raise InvalidToken("This token was issued before its account changed; log in again.")
        claimed.update(id=user_id, is_active=True, auth_version=version)
        return User.from_db("default", _LOADED_FIELDS, [claimed[name] for name in _LOADED_FIELDS])
