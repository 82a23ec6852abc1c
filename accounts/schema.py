"""OpenAPI: the versioned JWT authentication is documented as the bearer scheme simplejwt's is (`jwtAuth`)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class VersionedJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.VersionedJWTAuthentication"
