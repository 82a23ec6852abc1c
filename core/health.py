"""`GET /health`: is the database reachable, is the cache answering."""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import problem_responses

logger = logging.getLogger("paymentflow.health")


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    database = serializers.ChoiceField(choices=["ok", "unavailable"])
    cache = serializers.ChoiceField(choices=["ok", "unavailable"])


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("Health check: database unavailable", exc_info=True)
        return False


def _cache_ok() -> bool:
    # The Redis cache swallows its own errors (IGNORE_EXCEPTIONS), so the only
    # reliable probe is a round trip: write a value and read it back. A key of its
    # own per probe: probes running at once on a shared cache must not read each other's.
    key, probe = f"health:probe:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, probe, timeout=10)
    try:
        return cache.get(key) == probe
    finally:
        cache.delete(key)


class HealthView(APIView):
    """Report whether the service can reach its database and cache."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health",
        tags=["operations"],
        responses={200: HealthSerializer, 503: HealthSerializer},
        auth=[],
    )
    @problem_responses(503)
    def get(self, request):
        database_ok, cache_ok = _database_ok(), _cache_ok()
        body = {
            "status": "ok" if database_ok and cache_ok else "degraded",
            "database": "ok" if database_ok else "unavailable",
            "cache": "ok" if cache_ok else "unavailable",
        }
        return Response(body, status=200 if database_ok else 503)
