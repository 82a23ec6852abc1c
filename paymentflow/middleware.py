"""Keep non-DRF failures under the API prefix in the problem+json shape."""

import logging

from django.conf import settings

from paymentflow.errors import problem_response

logger = logging.getLogger("paymentflow.errors")


class ApiErrorMiddleware:
    """Answer an exception escaping a plain Django view under the API with a clean 500.

    DRF views already go through `paymentflow.errors.exception_handler`; this
    covers the rest (and DEBUG mode, where Django would render a traceback page).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = f"/{settings.API_PREFIX}/"

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith(self.prefix):
            return None
        logger.exception("Unhandled exception on %s %s", request.method, request.path)
        return problem_response(status_code=500, code="server_error", detail="An unexpected error occurred.")
