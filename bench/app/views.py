"""The benchmarks' floor endpoint."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response


@extend_schema(exclude=True)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def ok(request):
    """Answer a constant JSON body: what a request costs with no work in it.

    Through the same middleware, renderer and DRF view machinery as every
    endpoint, with no authentication, permission, throttle, database or cache.
    """
    return Response({"ok": True})
