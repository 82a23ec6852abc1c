from django.urls import path

from delivery.views import DownloadView, OrderDeliveryView, ProductFileView

urlpatterns = [
    path("products/<uuid:id>/file", ProductFileView.as_view(), name="product-file"),
    path("orders/<uuid:id>/delivery", OrderDeliveryView.as_view(), name="order-delivery"),
    path("downloads/<str:token>", DownloadView.as_view(), name="delivery-download"),
]
