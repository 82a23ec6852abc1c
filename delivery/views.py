"""Delivery's API: code pools and files (their merchant), an order's delivery (its buyer), download links, licenses."""

from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.permissions import IsMerchant
from core.idempotency import idempotent
from core.pagination import PageLimitPagination
from core.schema import problem_responses
from core.views import OptionsWithoutCredentials
from delivery import selectors
from delivery.links import download_link_mint, download_link_read
from delivery.serializers import (
    CodeListQuerySerializer,
    CodesAddedSerializer,
    CodeSerializer,
    CodesUploadSerializer,
    DeliverySerializer,
    LicenseActivatedSerializer,
    LicenseActivateSerializer,
    LicenseDeactivateSerializer,
    LicenseStateSerializer,
    LicenseValidateSerializer,
    ProductFileSerializer,
    ProductFileUploadSerializer,
)
from delivery.services import codes as code_services
from delivery.services import licenses
from delivery.services.files import delivery_download, product_file_replace
from delivery.storage import attachment_header
from delivery.throttles import LicenseRateThrottle
from delivery.uploads import product_file_upload_handler

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


class ProductFileView(OptionsWithoutCredentials, APIView):
    """The one file of a FILE product: its merchant uploads (replacing it for every buyer) and reads it."""

    permission_classes = [IsAuthenticated, IsMerchant]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="products_file_retrieve",
        parameters=[PRODUCT_ID],
        responses={200: ProductFileSerializer},
        description="The file of your FILE product; 404 when it has none yet.",
    )
    @problem_responses(403, 409)
    def get(self, request, id):
        return Response(ProductFileSerializer(selectors.product_file_get(product_id=id, merchant=request.user)).data)

    @extend_schema(
        operation_id="products_file_upload",
        parameters=[PRODUCT_ID],
        request={"multipart/form-data": ProductFileUploadSerializer},
        responses={200: ProductFileSerializer},
        description=(
            "Upload the file of your FILE product (multipart field `file`), replacing the previous one for every "
            "buyer. Streamed to storage and hashed (sha256) on the way; larger than DELIVERY_MAX_FILE_BYTES → 413 "
            "`request_too_large`; not a FILE product → 409 `delivery_kind_mismatch`."
        ),
    )
    @problem_responses(403, 409)
    def put(self, request, id):
        # Checked before the body is read: a wrong product costs no upload.
        selectors.product_get_for_file(product_id=id, merchant=request.user)
        handler = product_file_upload_handler(request._request)
        body = ProductFileUploadSerializer(data={"file": handler.received_file(request.FILES)})
        body.is_valid(raise_exception=True)
        product_file = product_file_replace(product_id=id, merchant=request.user, upload=body.validated_data["file"])
        return Response(ProductFileSerializer(product_file).data)


class DownloadView(OptionsWithoutCredentials, APIView):
    """A signed download link: the order's file, counted against its download limit."""

    # The signed token is the credential: an Authorization header is not read.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # No HEAD: Django would answer it with `get`, and a link checker's probe would spend a download.
    http_method_names = ["get", "options"]

    @extend_schema(
        operation_id="downloads_retrieve",
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.PATH, description="Signed token.")],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            302: OpenApiResponse(description="To the storage's presigned URL (S3-compatible storage)."),
        },
        auth=[],
        description=(
            "Download an order's file through the link its delivery gave (`download.url`): 200 with the bytes as an "
            "attachment, or a 302 to the storage's presigned URL. Each success counts against DOWNLOAD_LIMIT; "
            "expired → 410 `link_expired`, no downloads left → 410 `download_limit_reached`, order refunded or "
            "revoked → 410 `entitlement_revoked`, a tampered link → 404. A refused attempt does not count."
        ),
    )
    @problem_responses(410)
    def get(self, request, token):
        download = delivery_download(order_id=download_link_read(token=token))
        if download.redirect_url is not None:
            return HttpResponseRedirect(download.redirect_url)
        response = FileResponse(download.stream, as_attachment=True, filename=download.product_file.file_name)
        response["Content-Disposition"] = attachment_header(download.product_file.file_name)
        return response


ORDER_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Order id.")


class OrderDeliveryView(OptionsWithoutCredentials, APIView):
    """What an order delivers, to its buyer."""

    @extend_schema(
        operation_id="orders_delivery",
        tags=["orders"],
        parameters=[ORDER_ID],
        responses={200: DeliverySerializer},
        description=(
            "What the order delivers, to its buyer only (anyone else 404): its codes in clear (CODES), or a fresh "
            "signed download link valid DOWNLOAD_LINK_TTL_SECONDS, needing no token (FILE). PENDING until the "
            "order completes; REVOKED once it is fully refunded or an operator revoked it (no codes, no download)."
        ),
    )
    def get(self, request, id):
        found = selectors.delivery_get_for_buyer(order_id=id, buyer=request.user)
        delivery = found.delivery
        download = None
        if offer := selectors.delivery_download_offer(delivery=delivery):
            link = download_link_mint(order_id=delivery.order_id)
            download = {
                "file_name": offer.product_file.file_name,
                "size": offer.product_file.size,
                "url": request.build_absolute_uri(link.path),
                "expires_at": link.expires_at,
                "downloads_remaining": offer.downloads_remaining,
            }
        body = {"order_id": delivery.order_id, "status": delivery.status, "codes": found.codes, "download": download}
        return Response(DeliverySerializer(body).data)
