from rest_framework.routers import SimpleRouter

from accounts.views import AuthViewSet

router = SimpleRouter(trailing_slash=False)
router.register("", AuthViewSet, basename="auth")

urlpatterns = router.urls
