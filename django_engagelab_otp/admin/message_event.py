"""Every callback row received: statuses, notifications, replies and system events."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import validation
from ..exceptions import InvalidInputError
from ..models import MessageEvent
from . import display
from .base import EventColumns, HistoryAdmin, moment_column


@admin.register(MessageEvent)
class MessageEventAdmin(EventColumns, HistoryAdmin):
    time_field = "occurred_at"
    list_display = ("occurred", "kind", "event_badge", "message", "channel_label", "error")
    list_display_links = ("occurred",)
    sortable_by = ("occurred",)
    list_filter = ("kind", "occurred_at")
    search_fields = ("message_id",)
    search_help_text = _("An exact message id.")
    fields = (
        "kind",
        "event_badge",
        "message",
        "occurred",
        "received",
        "channel_label",
        "error",
        "error_message",
        "price",
        "row",
    )
    readonly_fields = ("occurred", "received", "channel_label", "error", "event_badge", "message", "price", "row")

    class Media:
        css = {"all": ("django_engagelab_otp/admin.css",)}

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        if not search_term.strip():
            return queryset, False
        try:
            message_id = validation.message_id(search_term)
        except InvalidInputError:
            return queryset.none(), False
        return queryset.filter(message_id=message_id), False

    occurred = moment_column("occurred_at", _("time"), sortable=True)
    received = moment_column("received_at", _("received"))

    @admin.display(description=_("event"))
    def event_badge(self, event: MessageEvent) -> str:
        if event.kind != MessageEvent.Kind.MESSAGE_STATUS:
            return event.event
        return display.status_badge(*display.event_status(event.event))

    @admin.display(description=_("message"))
    def message(self, event: MessageEvent) -> str:
        if not event.log_id:
            return event.message_id
        url = reverse(
            f"{self.admin_site.name}:django_engagelab_otp_messagelog_change",
            args=[event.log_id],
            current_app=self.admin_site.name,
        )
        return format_html('<a href="{}">{}</a>', url, event.message_id or event.log_id)

    @admin.display(description=_("row as received"))
    def row(self, event: MessageEvent) -> str:
        return display.json_block(event.raw)
