from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.permissions import IsMerchant
from core.idempotency import idempotent
from core.pagination import PageLimitPagination
from core.schema import problem_responses
from core.views import OptionsWithoutCredentials
from delivery import selectors
from delivery.serializers import (
    CodeListQuerySerializer,
    CodesAddedSerializer,
    CodeSerializer,
    CodesUploadSerializer,
    LicenseActivatedSerializer,
    LicenseActivateSerializer,
    LicenseDeactivateSerializer,
    LicenseStateSerializer,
    LicenseValidateSerializer,
)
from delivery.services import codes as code_services
from delivery.services import licenses
from delivery.throttles import LicenseRateThrottle

PRODUCT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Product id.")
CODE_ID = OpenApiParameter("codeId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Code id.")


class CodePoolView(OptionsWithoutCredentials, GenericAPIView):
    """The code pool of a CODES product, for its merchant."""

    permission_classes = [IsAuthenticated, IsMerchant]
    pagination_class = PageLimitPagination
    serializer_class = CodeSerializer

    @extend_schema(
        operation_id="products_codes_list",
        parameters=[PRODUCT_ID, CodeListQuerySerializer],
        responses={200: CodeSerializer(many=True)},
        description=(
            "The product's codes, newest first, deleted ones excluded: a hint (the last 4 characters) and the "
            "order holding it, never the code."
        ),
    )
    @problem_responses(403, 404)
    def get(self, request, id):
        query = CodeListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        codes = selectors.code_list_for_merchant(
            product_id=id, merchant=request.user, status=query.validated_data.get("status") or None
        )
        page = self.paginate_queryset(codes)
        return self.get_paginated_response(CodeSerializer(page, many=True).data)

    @extend_schema(
        operation_id="products_codes_create",
        parameters=[PRODUCT_ID],
        request=CodesUploadSerializer,
        responses={201: CodesAddedSerializer},
        description=(
            "Add 1 to 1000 codes (each trimmed, 1 to 255 printable characters) to a CODES product's pool; its "
            "availableUnits grows by the codes added. Duplicates, in the request or already in the pool, are "
            "skipped. Another kind of product: 409 `delivery_kind_mismatch`."
        ),
    )
    @problem_responses(403, 404, 409)
    @idempotent
    def post(self, request, id):
        serializer = CodesUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = code_services.codes_add(product_id=id, merchant=request.user, codes=serializer.validated_data["codes"])
        return Response(CodesAddedSerializer(added).data, status=status.HTTP_201_CREATED)


class CodeView(OptionsWithoutCredentials, APIView):
    permission_classes = [IsAuthenticated, IsMerchant]

    @extend_schema(
        operation_id="products_codes_destroy",
        parameters=[PRODUCT_ID, CODE_ID],
        responses={204: None},
        description="Delete an unused code: its unit leaves stock. A code that is not AVAILABLE: 409.",
    )
    @problem_responses(403, 404, 409)
    def delete(self, request, id, codeId):
        code_services.code_delete(product_id=id, code_id=codeId, merchant=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _LicenseView(OptionsWithoutCredentials, APIView):
    # Public: called by the merchant's software with the key alone. An Authorization
    # header is not even read, so a stale token there can never turn into a 401.
    authentication_classes = ()
    permission_classes = [AllowAny]
    throttle_classes = [LicenseRateThrottle]


class LicenseValidateView(_LicenseView):
    @extend_schema(
        operation_id="licenses_validate",
        request=LicenseValidateSerializer,
        responses={200: LicenseStateSerializer},
        auth=[],
        description=(
            "Check a delivered key: `valid` is false when it is revoked, or when `instanceId` is given and is not "
            "an active instance of it. A key never delivered: 404."
        ),
    )
    @problem_responses(404, 429)
    def post(self, request):
        serializer = LicenseValidateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = licenses.license_validate(**serializer.validated_data)
        return Response(LicenseStateSerializer(state).data)


class LicenseActivateView(_LicenseView):
    @extend_schema(
        operation_id="licenses_activate",
        request=LicenseActivateSerializer,
        responses={201: LicenseActivatedSerializer},
        auth=[],
        description=(
            "Activate a new instance on a key. At the product's activation limit: 409 "
            "`activation_limit_reached`; a revoked key: 409 `license_revoked`."
        ),
    )
    @problem_responses(404, 409, 429)
    def post(self, request):
        serializer = LicenseActivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        activated = licenses.license_activate(**serializer.validated_data)
        return Response(LicenseActivatedSerializer(activated).data, status=status.HTTP_201_CREATED)


class LicenseDeactivateView(_LicenseView):
    @extend_schema(
        operation_id="licenses_deactivate",
        request=LicenseDeactivateSerializer,
        responses={204: None},
        auth=[],
        description="End an active instance of a key. An unknown or already ended instance: 404.",
    )
    @problem_responses(404, 429)
    def post(self, request):
        serializer = LicenseDeactivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        licenses.license_deactivate(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
