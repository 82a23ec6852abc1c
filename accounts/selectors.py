"""Account reads."""

from uuid import UUID

from accounts.models import User


def user_get(*, user_id: UUID) -> User:
    """Return the user with every field loaded (request.user holds only its token's claims)."""
    return User.objects.get(id=user_id)
