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
from .base import HistoryAdmin
from .filters import FinalStatusFilter, LostMessagesFilter, TemplateFilter
from .search import search_filter


class TimelineInline(admin.TabularInline):
    """The callbacks received for a message, oldest first."""

    model = MessageEvent
    fk_name = "log"
    verbose_name = _("event")
    verbose_name_plural = _("timeline")
    fields = ("when", "status", "channel_label", "error_code", "error_message", "price")
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

    @admin.display(description=_("time"))
    def when(self, event: MessageEvent) -> str:
        return display.moment(event.occurred_at)

    @admin.display(description=_("status"))
    def status(self, event: MessageEvent) -> str:
        return display.status_badge(*display.event_status(event.event))

    @admin.display(description=_("channel"))
    def channel_label(self, event: MessageEvent) -> str:
        return display.label(MessageLog.Channel, event.channel)

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
                    "created_at",
                    "updated_at",
                    "idempotency_key",
                )
            },
        ),
        (
            _("Outcome"),
            {"fields": ("error_code", "http_status", "error_message", "price", "verify_attempts", "verified_at")},
        ),
        (_("Template parameters"), {"fields": ("parameters",)}),
    )
    readonly_fields = (
        "created",
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
        if obj is not None and len(obj.recipients or []) > 1:
            return fieldsets
        # One recipient: "all recipients" would only repeat it.
        main, *rest = fieldsets
        fields = tuple(name for name in main[1]["fields"] if name != "all_recipients")
        return ((main[0], {**main[1], "fields": fields}), *rest)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # Equality or prefix lookups only, each served by an index (never LIKE '%term%').
        if not search_term.strip():
            return queryset, False
        condition = search_filter(search_term)
        return (queryset.filter(condition) if condition is not None else queryset.none()), False

    @admin.display(description=_("time"), ordering="created_at")
    def created(self, log: MessageLog) -> Any:
        return display.compact_moment(log.created_at)

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
        return log.error_code

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
