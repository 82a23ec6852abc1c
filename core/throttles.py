"""Rate limits, counted atomically in the cache: login and register per client IP (`AUTH_THROTTLE_RATE`).

DRF's own throttles read a history from the cache, decide, then write it
back: concurrent requests all read the same history and all pass (60
simultaneous logins let 14 through a limit of 10). Here every request is
counted with the cache's atomic `add` and `incr` (SET NX and INCRBY on Redis),
so of N simultaneous requests exactly the limit pass.

The count is a sliding window estimated from two fixed ones: this window's
count plus the previous window's, weighted by how much of it still overlaps
the last `duration` seconds. So a burst across a window boundary is still held
to the limit, with two cache keys per client and no history list.

Refused requests count too: a client that keeps hammering stays refused. When
the cache cannot be reached the request is allowed (availability over
throttling; docs/security.md).
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class AtomicRateThrottle(SimpleRateThrottle):
    """Limit requests per client IP to the rate in the setting named by `rate_setting`."""

    rate_setting: str

    def get_rate(self) -> str:
        # Read per request: DRF binds THROTTLE_RATES once at import, and tests override the setting.
        return getattr(settings, self.rate_setting)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        key = self.get_cache_key(request, view)
        now = self.timer()
        window = int(now // self.duration)
        remaining = (window + 1) * self.duration - now
        count = self._count(f"{key}:{window}")
        if count is None:
            return True
        previous = self.cache.get(f"{key}:{window - 1}") or 0
        if count + previous * remaining / self.duration > self.num_requests:
            self._wait = remaining
            return False
        return True

    def _count(self, key: str) -> int | None:
        """Add this request to the window's counter and return the count, or None if the cache is down."""
        # Kept two windows: the next window weighs this one as its previous.
        timeout = 2 * self.duration
        self.cache.add(key, 0, timeout=timeout)
        try:
            return self.cache.incr(key)
        except ValueError:
            # Evicted or expired between add and incr: this request starts the window again.
            return 1 if self.cache.add(key, 1, timeout=timeout) else self.cache.incr(key)

    def wait(self) -> float:
        return self._wait


class AuthRateThrottle(AtomicRateThrottle):
    """Limit credential endpoints per client IP, shared by login and register."""

    scope = "auth"
    rate_setting = "AUTH_THROTTLE_RATE"
