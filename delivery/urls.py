from django.urls import re_path

from catalog.views import UUID_PATTERN
from delivery.views import CodePoolView, CodeView, LicenseActivateView, LicenseDeactivateView, LicenseValidateView

urlpatterns = [
    re_path(rf"^products/(?P<id>{UUID_PATTERN})/codes$", CodePoolView.as_view(), name="product-codes"),
    re_path(
        rf"^products/(?P<id>{UUID_PATTERN})/codes/(?P<codeId>{UUID_PATTERN})$", CodeView.as_view(), name="product-code"
    ),
    re_path(r"^licenses/validate$", LicenseValidateView.as_view(), name="licenses-validate"),
    re_path(r"^licenses/activate$", LicenseActivateView.as_view(), name="licenses-activate"),
    re_path(r"^licenses/deactivate$", LicenseDeactivateView.as_view(), name="licenses-deactivate"),
]
