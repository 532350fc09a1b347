"""The message history: who was sent what, on which channel, and what became of it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import MessageEvent, MessageLog
from ..privacy import mask_recipient
from . import display
from .base import EventColumns, HistoryAdmin, moment_column
from .filters import FinalStatusFilter, LostMessagesFilter, TemplateFilter
from .search import search_filter


class TimelineInline(EventColumns, admin.TabularInline):
    """The callbacks received for a message, oldest first."""

    model = MessageEvent
    fk_name = "log"
    verbose_name = _("event")
    verbose_name_plural = _("timeline")
    fields = ("when", "status", "channel_label", "error", "error_message", "price")
    readonly_fields = fields
    classes = ("engagelab-timeline",)
    extra = 0
    max_num = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A message's timeline is part of the message: whoever may see one sees the other.
        return self.admin_site.get_model_admin(self.parent_model).has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    when = moment_column("occurred_at", _("time"))

    @admin.display(description=_("status"))
    def status(self, event: MessageEvent) -> str:
        return display.status_badge(*display.event_status(event.event))

    @admin.display(description=_("cost"))
    def price(self, event: MessageEvent) -> str:
        return display.money(event.cost, event.currency)


@admin.register(MessageLog)
class MessageLogAdmin(HistoryAdmin):
    list_display = (
        "created",
        "platform_id",
        "recipient_short",
        "kind_short",
        "template_id",
        "channel",
        "status_badge",
        "error",
    )
    list_display_links = ("created",)
    sortable_by = ("created",)
    list_filter = (
        "status",
        "send_channel",
        "kind",
        TemplateFilter,
        "created_at",
        FinalStatusFilter,
        LostMessagesFilter,
    )
    date_hierarchy = "created_at"
    # The search box searches these, but not the way Django would (see get_search_results).
    search_fields = ("message_id", "to")
    search_help_text = _(
        "An exact message id, or a recipient: a phone number with its country code in any format, "
        "or an e-mail address. A partial number or address finds every recipient that starts with it."
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "message_id",
                    "kind_label",
                    "status_badge",
                    "channel",
                    "template_id",
                    "language",
                    "recipient",
                    "all_recipients",
                    "created_time",
                    "updated",
                    "idempotency_key",
                )
            },
        ),
        (
            _("Outcome"),
            {"fields": ("error", "error_message", "price", "verify_attempts", "verified", "timeline_note")},
        ),
        (_("Template parameters"), {"fields": ("parameters",)}),
    )
    readonly_fields = (
        "created",
        "created_time",
        "updated",
        "verified",
        "error",
        "timeline_note",
        "recipient",
        "all_recipients",
        "kind_label",
        "channel",
        "status_badge",
        "price",
        "parameters",
    )
    inlines = (TimelineInline,)

    class Media:
        css = {"all": ("django_engagelab_otp/admin.css",)}
        js = ("django_engagelab_otp/copy.js",)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        hidden = set()
        if obj is None or len(obj.recipients or []) <= 1:
            hidden.add("all_recipients")  # one recipient: it would only repeat it
        if obj is not None and _has_events(obj):
            hidden.add("timeline_note")  # the timeline itself is below
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
            for name, options in fieldsets
        ]

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # No callback yet: a note says so (timeline_note) instead of an empty table.
        if obj is None or not _has_events(obj):
            return []
        return super().get_inline_instances(request, obj)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {"title": _("Message history"), **(extra_context or {})})

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # Equality or prefix lookups only, each served by an index (never LIKE '%term%').
        if not search_term.strip():
            return queryset, False
        condition = search_filter(search_term)
        return (queryset.filter(condition) if condition is not None else queryset.none()), False

    created = moment_column("created_at", _("time"), sortable=True, seconds=False)
    created_time = moment_column("created_at", _("created"))
    updated = moment_column("updated_at", _("updated"))
    verified = moment_column("verified_at", _("verified at"))

    @admin.display(description=_("timeline"))
    def timeline_note(self, log: MessageLog) -> str:
        return display.timeline_note(log)

    @admin.display(description=_("message id"), empty_value="")
    def platform_id(self, log: MessageLog) -> Any:
        return display.message_id(log.message_id)

    @admin.display(description=_("recipient"))
    def recipient(self, log: MessageLog) -> str:
        return display.masked_recipients(log)

    @admin.display(description=_("recipient"))
    def recipient_short(self, log: MessageLog) -> str:
        return display.masked_recipients(log, compact=True)

    @admin.display(description=_("all recipients"))
    def all_recipients(self, log: MessageLog) -> str:
        return ", ".join(mask_recipient(value) for value in log.recipients or [] if isinstance(value, str))

    @admin.display(description=_("kind"))
    def kind_label(self, log: MessageLog) -> str:
        return display.label(MessageLog.Kind, log.kind)

    @admin.display(description=_("error"), empty_value="")
    def error(self, log: MessageLog) -> Any:
        return display.error(log.error_code, log.http_status)

    @admin.display(description=_("kind"))
    def kind_short(self, log: MessageLog) -> str:
        return display.short_kind(log.kind)

    @admin.display(description=_("channel"), empty_value="")
    def channel(self, log: MessageLog) -> str:
        return display.label(MessageLog.Channel, log.send_channel)

    @admin.display(description=_("status"))
    def status_badge(self, log: MessageLog) -> str:
        return display.status_badge(log.status, display.label(MessageLog.Status, log.status))

    @admin.display(description=_("parameters"))
    def parameters(self, log: MessageLog) -> str:
        # Stored redacted already; json_block redacts again in case a row predates that rule.
        return display.json_block(log.params)


def _has_events(log: MessageLog) -> bool:
    """Whether callbacks came for ``log``: asked once per page (the fieldsets and the inlines both need it)."""
    if not hasattr(log, "_has_events"):
        log._has_events = log.events.exists()
    return log._has_events
