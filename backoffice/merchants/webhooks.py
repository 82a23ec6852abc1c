"""Merchants' pages for their webhook endpoints, their delivery log and their email preference.

Writes go through `notifications.services`, as the API's do: an endpoint is
created with a fresh secret (shown once, in the confirmation message), its URL
checked by the same SSRF rules, and a delivery retried by `webhook_delivery_retry`.
"""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from backoffice.merchants.base import MerchantOwnedAdmin
from backoffice.shared import WEBHOOK_DELIVERY_FIELDS, webhook_deliveries_retry
from backoffice.sites import merchant_site
from core.outbox import EventType
from notifications.models import NotificationPreference, WebhookDelivery, WebhookEndpoint
from notifications.selectors import endpoint_list_for_merchant
from notifications.services import (
    notification_preference_set,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)
from notifications.urlguard import UrlRefused, url_resolve

ENDPOINT_FIELDS = ["url", "events", "description", "is_active"]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.CharField(max_length=2048, help_text="https:// only; internal addresses are refused.")
    events = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ENDPOINT_FIELDS

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            url_resolve(url)
        except UrlRefused as refused:
            raise forms.ValidationError(str(refused)) from refused
        return url


@admin.register(WebhookEndpoint, site=merchant_site)
class MerchantWebhookEndpointAdmin(MerchantOwnedAdmin):
    form = WebhookEndpointForm
    menu_label = "Webhooks"
    editable = True
    list_display = ["url", "events", "is_active", "disabled_reason", "created_at", "deliveries_link"]
    list_filter = ["is_active"]
    ordering = ["-created_at", "-id"]
    readonly_fields = ["disabled_reason", "created_at"]

    def owner_id(self, obj):
        return obj.merchant_id

    def get_queryset(self, request):
        return endpoint_list_for_merchant(merchant=request.user)

    def get_fields(self, request, obj=None):
        # A new endpoint is active; the switch is there to turn an existing one off (or on again).
        return ["url", "events", "description"] if obj is None else [*ENDPOINT_FIELDS, *self.readonly_fields]

    @admin.display(description="deliveries")
    def deliveries_link(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("merchant:notifications_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">delivery log</a>', url, endpoint.pk)

    def changelist_view(self, request, extra_context=None):
        # The back-office notice of an automatic disabling (the merchant is emailed too).
        for endpoint in self.get_queryset(request).exclude(disabled_reason=""):
            messages.warning(request, f"{endpoint.url} is disabled: {endpoint.disabled_reason}")
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data[field] for field in ENDPOINT_FIELDS if field in form.cleaned_data}
        if change:
            saved = webhook_endpoint_update(
                merchant=request.user, endpoint_id=obj.pk, **{f: data[f] for f in form.changed_data if f in data}
            )
        else:
            saved = webhook_endpoint_create(merchant=request.user, **data)
            messages.warning(request, f"Signing secret of this endpoint (shown only now, store it): {saved.secret}")
        # The admin goes on with `obj` (its pk names the redirect and the log entry).
        for field in WebhookEndpoint._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass

    def delete_model(self, request, obj):
        webhook_endpoint_delete(merchant=request.user, endpoint_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            webhook_endpoint_delete(merchant=request.user, endpoint_id=endpoint.pk)


@admin.action(description="Retry the selected deliveries")
def retry_deliveries(modeladmin, request, queryset):
    webhook_deliveries_retry(modeladmin, request, queryset)


@admin.register(WebhookDelivery, site=merchant_site)
class MerchantWebhookDeliveryAdmin(MerchantOwnedAdmin):
    menu_label = "Webhook deliveries"
    list_display = [
        "created_at",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "endpoint",
        "event_id",
    ]
    # The endpoint filter lists the merchant's own endpoints only (the plain related
    # filter would offer every merchant's URLs).
    list_filter = ["status", "event_type", ("endpoint", admin.RelatedOnlyFieldListFilter)]
    ordering = ["-created_at", "-id"]
    fields = WEBHOOK_DELIVERY_FIELDS
    readonly_fields = fields
    actions = [retry_deliveries]

    def owner_id(self, obj):
        return obj.endpoint.merchant_id

    def get_queryset(self, request):
        return WebhookDelivery.objects.filter(endpoint__merchant=request.user).select_related("endpoint")

    def lookup_allowed(self, lookup, value, request=None):
        # The endpoint filter and the endpoints page's link; scoped by the queryset above.
        return lookup in ("endpoint__id__exact", "endpoint") or super().lookup_allowed(lookup, value, request)


@admin.register(NotificationPreference, site=merchant_site)
class MerchantNotificationPreferenceAdmin(MerchantOwnedAdmin):
    """One row per merchant: the list goes straight to the merchant's own, made on first visit."""

    menu_label = "Email notifications"
    fields = ["sale_emails"]

    def owner_id(self, obj):
        return obj.merchant_id

    def get_queryset(self, request):
        return NotificationPreference.objects.filter(merchant=request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    def changelist_view(self, request, extra_context=None):
        preference = NotificationPreference.objects.filter(merchant=request.user).first()
        if preference is None:
            preference = notification_preference_set(merchant=request.user, sale_emails=False)
        return HttpResponseRedirect(
            reverse("merchant:notifications_notificationpreference_change", args=[preference.pk])
        )

    def save_model(self, request, obj, form, change):
        notification_preference_set(merchant=request.user, sale_emails=form.cleaned_data["sale_emails"])

    def response_change(self, request, obj):
        messages.success(request, "Saved.")
        return HttpResponseRedirect(reverse("merchant:index"))
