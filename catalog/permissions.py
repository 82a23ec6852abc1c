from rest_framework.permissions import BasePermission


class IsMerchant(BasePermission):
    """Allow authenticated MERCHANT accounts; anyone else authenticated gets 403 `permission_denied`."""

    message = "Only merchant accounts can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_merchant)
