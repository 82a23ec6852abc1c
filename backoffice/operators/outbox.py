"""Operators' page for the outbox of domain events: what the worker published, what is late, what is dead."""

import json

from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html

from backoffice.shared import ReadOnlyAdminMixin
from backoffice.sites import operator_site
from core.models import OutboxEvent
from core.outbox import OUTBOX_MAX_ATTEMPTS, outbox_retry


class PublicationFilter(admin.SimpleListFilter):
    """Published, still to publish (normal for a few seconds), failing (retried by the sweep), dead."""

    title = "publication"
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return [
            ("published", "Published"),
            ("unpublished", "Not published yet"),
            ("failing", "Failing (retried)"),
            ("dead", f"Dead (after {OUTBOX_MAX_ATTEMPTS} attempts)"),
        ]

    def queryset(self, request, queryset):
        unpublished = queryset.filter(published_at=None)
        return {
            "published": queryset.exclude(published_at=None),
            "unpublished": unpublished,
            "failing": unpublished.filter(attempts__gt=0, attempts__lt=OUTBOX_MAX_ATTEMPTS).exclude(last_error=""),
            "dead": unpublished.filter(attempts__gte=OUTBOX_MAX_ATTEMPTS),
        }.get(self.value(), queryset)


@admin.register(OutboxEvent, site=operator_site)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The domain events, read-only; a dead or failing event can be published again once its cause is fixed."""

    list_display = ["created_at", "type", "state", "attempts", "published_at", "next_attempt_at", "request_id"]
    list_filter = [PublicationFilter, "type"]
    search_fields = ["id", "request_id", "last_error"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    show_full_result_count = False
    actions = ["publish_again"]
    fields = [
        "id",
        "type",
        "state",
        "attempts",
        "created_at",
        "published_at",
        "next_attempt_at",
        "request_id",
        "last_error",
        "data",
    ]
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, event: OutboxEvent) -> str:
        if event.published_at:
            return "published"
        if event.attempts >= OUTBOX_MAX_ATTEMPTS:
            return "dead"
        return "failing" if event.last_error else "to publish"

    @admin.display(description="payload")
    def data(self, event: OutboxEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))

    def has_publish_permission(self, request) -> bool:
        return request.user.has_perm("core.change_outboxevent")

    @admin.action(description="Publish selected unpublished events again (fresh attempts)", permissions=["publish"])
    def publish_again(self, request, queryset):
        with transaction.atomic():
            count = outbox_retry(event_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(
            request,
            f"Queued {count} event(s) for publication; published ones were skipped.",
            messages.SUCCESS if count else messages.INFO,
        )
