"""Each user's auth version in the cache: what lets a request authenticate from its token alone.

A user's `auth_version` is bumped whenever something a token stands for
changes (deactivation, a new password, the role or the staff flags; see
`User.save` and `UserQuerySet.update`), and every token carries the version it
was issued under. Authentication compares the two, so a token of a
deactivated user is refused on the very next request, on every worker,
without reading the user's row: the version comes from the cache that all
workers share, and from the database only when the cache does not have it.

Writers `set` the new version once their change has committed; a reader that
missed only `add`s what it read. So a reader that read the row just before a
change committed can never put the old version back over the new one.

If the cache cannot be reached the reader falls back to the database (always
right). A write that could not reach the cache is lost; should the cache come
back still holding the old version (a network blip, not a restart), that
version lives at most `AUTH_VERSION_CACHE_SECONDS`.
"""

from uuid import UUID

from django.core.cache import cache

AUTH_VERSION_CACHE_SECONDS = 300

# Cached for a user who can no longer authenticate (inactive or deleted): no token
# carries it, as versions start at 1.
NO_VERSION = 0


def _key(user_id: UUID | str) -> str:
    return f"auth-version:{user_id}"


def auth_version_cached(*, user_id: UUID | str) -> int | None:
    """Return the cached auth version of the user (NO_VERSION: cannot authenticate), None when not cached."""
    return cache.get(_key(user_id))


def auth_version_remember(*, user_id: UUID | str, version: int) -> None:
    """Cache the version a reader got from the database, unless a writer has put a newer one there first."""
    cache.add(_key(user_id), version, timeout=AUTH_VERSION_CACHE_SECONDS)


def auth_version_publish(*, user_id: UUID | str, version: int, is_active: bool) -> None:
    """Cache the version a committed change left the user with (call it on commit)."""
    cache.set(_key(user_id), version if is_active else NO_VERSION, timeout=AUTH_VERSION_CACHE_SECONDS)
