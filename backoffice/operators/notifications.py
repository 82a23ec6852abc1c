"""Operators' pages for merchant webhooks and outgoing email: what failed, and a way to try again.

Read-only like the money pages: a delivery or an email only moves through
`notifications.services`. The endpoints' signing secrets are never shown.
"""

from django.contrib import admin

from backoffice.shared import WEBHOOK_DELIVERY_FIELDS, ReadOnlyAdminMixin, webhook_deliveries_retry
from backoffice.sites import operator_site
from notifications.models import DeliveryStatus, OutgoingEmail, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint, site=operator_site)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["url", "merchant", "events", "is_active", "failing_since", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "merchant__email"]
    list_select_related = ["merchant"]
    # Everything but the secret.
    fields = [
        "id",
        "merchant",
        "url",
        "events",
        "description",
        "is_active",
        "failing_since",
        "disabled_reason",
        "disabled_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields


class FailedFirstStatusFilter(admin.SimpleListFilter):
    """Open on the failed deliveries, the ones that need an operator's eye."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*DeliveryStatus.choices, ("all", "All")]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or DeliveryStatus.FAILED) == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or DeliveryStatus.FAILED
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(WebhookDelivery, site=operator_site)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "endpoint",
        "merchant",
    ]
    list_filter = [FailedFirstStatusFilter, "event_type"]
    search_fields = ["event_id", "endpoint__url", "endpoint__merchant__email"]
    list_select_related = ["endpoint__merchant"]
    fields = ["id", *WEBHOOK_DELIVERY_FIELDS]
    readonly_fields = fields
    actions = ["retry"]

    @admin.display(description="merchant")
    def merchant(self, delivery: WebhookDelivery):
        return delivery.endpoint.merchant

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_webhookdelivery")

    @admin.action(description="Retry the selected deliveries", permissions=["retry"])
    def retry(self, request, queryset):
        webhook_deliveries_retry(self, request, queryset)


@admin.register(OutgoingEmail, site=operator_site)
class OutgoingEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "recipient", "status", "attempts", "last_error", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "subject_id"]
    # Never the body: a receipt holds the buyer's codes, and it is rendered only when sent.
    fields = [
        "id",
        "kind",
        "subject_id",
        "recipient",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
        "created_at",
    ]
    readonly_fields = fields
