"""The public product cache: version-stamped keys, invalidated after commit.

Cached values are rendered response data (the JSON bytes of serializer
output), never model instances. Each entry is stored with the version stamp
that was current *before* its database query, and counts only while that
stamp is still current:

- a detail page under the product's own stamp (`catalog:product:<id>:version`),
- a list page under the catalog-wide stamp (`catalog:list:version`), since any
  product change can move it in or out of any filtered, ordered page.

Invalidation replaces the stamps with fresh random ones after the writing
transaction commits. A reader that queried the database before the commit
still holds the old stamp, so whatever it writes carries that stamp and is
never served (the next reader rebuilds it) instead of re-caching stale data.
A hit costs one round trip: the stamp and the entry are fetched together.

Stamps are random tokens rather than counters: a replacement needs no existing
key (no `incr` on a missing key), and a stamp lost to eviction or a flush is
re-created with a value no old key can carry.

Redis is an optimisation only. The cache is configured to swallow connection
errors (IGNORE_EXCEPTIONS), so a dead server reads as a miss; when no stamp can
be read or created the request is simply served from the database.
"""

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache

from core.cache import cache_write_on_commit

LIST_VERSION_KEY = "catalog:list:version"


def product_version_key(product_id: uuid.UUID | str) -> str:
    # Normalised so "ABC…" in a URL and the stored id share one key.
    return f"catalog:product:{uuid.UUID(str(product_id))}:version"


def _new_stamp() -> str:
    return secrets.token_hex(8)


def version_read(key: str) -> str | None:
    """Return the current stamp under `key`, creating one if missing; None if the cache is unusable."""
    stamp = cache.get(key)
    if stamp is not None:
        return stamp
    candidate = _new_stamp()
    # `add` is atomic (SET NX): of two readers creating the stamp, both end up with the winner's.
    added = cache.add(key, candidate, timeout=None)
    if added:
        return candidate
    if added is None:
        # django-redis returns None from a write it failed and was told to ignore.
        return None
    return cache.get(key)


def _versioned_lookup(*, version_key: str, data_key: str) -> tuple[str | None, Any]:
    """Return (the current stamp, the entry's data if it carries that stamp, else None): one round trip."""
    found = cache.get_many([version_key, data_key])
    stamp, entry = found.get(version_key), found.get(data_key)
    if stamp is not None and entry is not None and entry[0] == stamp:
        return stamp, entry[1]
    return stamp, None


def _versioned_get_or_build(*, version_key: str, data_key: str, build: Callable[[], Any]) -> Any:
    stamp, data = _versioned_lookup(version_key=version_key, data_key=data_key)
    if data is not None:
        return data
    if stamp is None:
        stamp = version_read(version_key)
        if stamp is None:
            return build()
    data = build()
    cache.set(data_key, (stamp, data), timeout=settings.PRODUCT_CACHE_TTL)
    return data


def _detail_keys(product_id: uuid.UUID | str) -> dict[str, str]:
    product_id = uuid.UUID(str(product_id))
    return {"version_key": product_version_key(product_id), "data_key": f"catalog:product:{product_id}:data"}


def product_detail_cached(*, product_id: uuid.UUID, build: Callable[[], Any]) -> Any:
    """Return the public detail of a product from the cache, or `build()` it and cache it.

    `build` raises for a missing product; nothing is cached then.
    """
    return _versioned_get_or_build(**_detail_keys(product_id), build=build)


def product_detail_cache_hit(*, product_id: uuid.UUID | str) -> Any | None:
    """Return the cached public detail of a product if the cache holds a current one, else None."""
    return _versioned_lookup(**_detail_keys(product_id))[1]


def product_list_page_cached(*, params: Mapping[str, Any], build: Callable[[], Any]) -> Any:
    """Return one public list page for `params` from the cache, or `build()` it and cache it.

    `params` must identify the page completely (the view passes the absolute URL: filters,
    ordering, page number and size, and the links built from them);
    `build` raises for invalid params or a page out of range, and nothing is cached then.
    """
    return _versioned_get_or_build(**_list_keys(params), build=build)


def product_list_page_cache_hit(*, params: Mapping[str, Any]) -> Any | None:
    """Return the cached public list page for `params` if the cache holds a current one, else None."""
    return _versioned_lookup(**_list_keys(params))[1]


def _list_keys(params: Mapping[str, Any]) -> dict[str, str]:
    canonical = json.dumps(params, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return {"version_key": LIST_VERSION_KEY, "data_key": f"catalog:list:{digest}"}


def product_cache_invalidate_on_commit(*, product_id: uuid.UUID) -> None:
    """Retire the cached detail of one product and every cached list page once the current transaction commits.

    At once outside a transaction. Both stamps go in the commit's one pipelined round
    trip (core.cache.cache_write_on_commit); new random stamps are harmless to write
    needlessly. If Redis is down the writes are dropped (logged) and entries under the
    old stamps stay readable until their TTL runs out.
    """
    for key in (product_version_key(product_id), LIST_VERSION_KEY):
        cache_write_on_commit(key=key, value=_new_stamp())
