"""A test-only URLconf: a webhook receiver that verifies deliveries and keeps them in memory.

Used with `@pytest.mark.urls("core.tests.webhook_urls")` to prove, before
the orders app has its own endpoint, that localstripe's deliveries to a
live_server verify with `webhook_event_from_request`.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.stripe_events import WebhookSignatureInvalid, webhook_event_from_request

# (event, None) for a delivery that verified, (None, error code) for one that did not.
received: list[tuple[object, str | None]] = []


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = webhook_event_from_request(
            payload=request.body, signature_header=request.headers.get("Stripe-Signature")
        )
    except WebhookSignatureInvalid as exc:
        received.append((None, exc.code))
        return HttpResponse(status=400)
    received.append((event, None))
    return HttpResponse(status=200)


urlpatterns = [path("webhook", stripe_webhook)]
