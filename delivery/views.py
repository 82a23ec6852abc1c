"""Delivery's API: a product's file (its merchant), an order's delivery (its buyer), the signed download links."""

from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.permissions import IsMerchant
from core.schema import problem_responses
from core.views import OptionsWithoutCredentials
from delivery import selectors
from delivery.links import download_link_mint, download_link_read
from delivery.serializers import DeliverySerializer, ProductFileSerializer, ProductFileUploadSerializer
from delivery.services.files import delivery_download, product_file_replace
from delivery.storage import attachment_header
from delivery.uploads import product_file_upload_handler

PRODUCT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Product id.")


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
