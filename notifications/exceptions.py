from core.errors import ApplicationError, NotFound


class WebhookEndpointNotFound(NotFound):
    default_detail = "Webhook endpoint not found."


class WebhookDeliveryNotFound(NotFound):
    default_detail = "Webhook delivery not found."


class WebhookEndpointDisabled(ApplicationError):
    status_code = 409
    code = "endpoint_disabled"
    title = "Endpoint disabled"
    default_detail = "This endpoint is disabled: enable it (isActive true) before retrying its deliveries."
