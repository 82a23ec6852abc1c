from django.urls import re_path

from catalog.views import UUID_PATTERN
from delivery.views import (
    CodePoolView,
    CodeView,
    DownloadView,
    LicenseActivateView,
    LicenseDeactivateView,
    LicenseValidateView,
    OrderDeliveryView,
    ProductFileView,
)

urlpatterns = [
    re_path(rf"^products/(?P<id>{UUID_PATTERN})/codes$", CodePoolView.as_view(), name="product-codes"),
    re_path(
        rf"^products/(?P<id>{UUID_PATTERN})/codes/(?P<codeId>{UUID_PATTERN})$", CodeView.as_view(), name="product-code"
    ),
    re_path(rf"^products/(?P<id>{UUID_PATTERN})/file$", ProductFileView.as_view(), name="product-file"),
    re_path(rf"^orders/(?P<id>{UUID_PATTERN})/delivery$", OrderDeliveryView.as_view(), name="order-delivery"),
    # The token is django.core.signing's: url-safe base64 and ":" only.
    re_path(r"^downloads/(?P<token>[A-Za-z0-9_:-]{1,512})$", DownloadView.as_view(), name="delivery-download"),
    re_path(r"^licenses/validate$", LicenseValidateView.as_view(), name="licenses-validate"),
    re_path(r"^licenses/activate$", LicenseActivateView.as_view(), name="licenses-activate"),
    re_path(r"^licenses/deactivate$", LicenseDeactivateView.as_view(), name="licenses-deactivate"),
]
