from rest_framework.routers import SimpleRouter

from catalog.views import ProductViewSet, cached_public_reads, product_detail_hit, product_list_hit

router = SimpleRouter(trailing_slash=False)
router.register("products", ProductViewSet, basename="product")

# The public list and detail answer their cache hits before DRF's dispatch (catalog.views.cached_public_reads).
_HITS = {"product-list": product_list_hit, "product-detail": product_detail_hit}

urlpatterns = router.urls
for pattern in urlpatterns:
    if pattern.name in _HITS:
        pattern.callback = cached_public_reads(pattern.callback, hit=_HITS[pattern.name])
