"""Rate limits. Login and register are limited per client IP (`AUTH_THROTTLE_RATE`)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class AuthRateThrottle(SimpleRateThrottle):
    """Limit credential endpoints per client IP, shared by login and register."""

    scope = "auth"

    def get_rate(self) -> str:
        # DRF binds THROTTLE_RATES once at import; reading the setting per request
        # lets an override of AUTH_THROTTLE_RATE (tests, `override_settings`) apply.
        return settings.AUTH_THROTTLE_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
