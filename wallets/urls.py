from django.urls import path
from rest_framework.routers import SimpleRouter

from wallets.views import WalletViewSet

router = SimpleRouter(trailing_slash=False)
router.register("wallet", WalletViewSet, basename="wallet")

# GET /wallet is the caller's one wallet, not a list: a plain route to `current`
# (the router would only offer `list` here, which the schema documents as an array).
urlpatterns = [
    path("wallet", WalletViewSet.as_view({"get": "current"}), name="wallet-current"),
    *router.urls,
]
