from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.views import LibraryView, OrderViewSet, StripeWebhookView

router = SimpleRouter(trailing_slash=False)
router.register("orders", OrderViewSet, basename="orders")

urlpatterns = [
    path("library", LibraryView.as_view(), name="library"),
    path("payments/stripe/webhook", StripeWebhookView.as_view(), name="stripe-webhook"),
    *router.urls,
]
