from core.throttles import AtomicRateThrottle


class LicenseRateThrottle(AtomicRateThrottle):
    """Limit the public license endpoints per client IP (`LICENSE_THROTTLE_RATE`), shared by all three."""

    scope = "license"
    rate_setting = "LICENSE_THROTTLE_RATE"
