"""What both history lists share: read-only, cheap to count, cheap to sort."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.db.models import Model
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import MessageEvent, MessageLog
from ..strict_json import whole_number
from . import dates, display
from .paginator import EstimatedCountPaginator

#: What each part of the date drill-down (``created_at__month=5``) may be.
_DATE_PARTS = {"year": range(1, 10_000), "month": range(1, 13), "day": range(1, 32)}


def moment_column(
    field: str, description: Any, *, sortable: bool = False, seconds: bool = True
) -> Callable[[Any, Model], str]:
    """A column (or read-only field) showing a time the one way this admin writes times."""

    @admin.display(description=description, ordering=field if sortable else None, empty_value="")
    def column(self: Any, obj: Model) -> str:
        return display.moment(getattr(obj, field), seconds=seconds)

    return column


class EventColumns:
    """The columns a callback row shows wherever it is listed (the events list, a message's timeline)."""

    @admin.display(description=gettext_lazy("channel"), empty_value="")
    def channel_label(self, event: MessageEvent) -> str:
        return display.label(MessageLog.Channel, event.channel)

    @admin.display(description=gettext_lazy("error"), empty_value="")
    def error(self, event: MessageEvent) -> str:
        return display.error(event.error_code, None)


class HistoryChangeList(ChangeList):
    def get_filters(self, request: HttpRequest) -> Any:
        # Bad values in the URL go back to the list with ?e=1, as Django does
        # for the ones it checks itself. It reads the drill-down's year with
        # datetime() and lets a year beyond 9999 or a number beyond a C long
        # through, and a month or day without its year goes to the database
        # as it came; PostgreSQL refuses such numbers, and a NUL in any text.
        _check_query(request.GET.lists(), self.date_hierarchy)
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error

    @cached_property
    def date_drilldown(self) -> dict[str, Any]:
        """The date hierarchy, built with index probes (see ``dates``)."""
        return dates.drilldown(self)

    def get_ordering(self, request: HttpRequest, queryset: Any) -> list[Any]:
        # Only the time column sorts. Its tie-breaker follows the same direction
        # so that one index, read forwards or backwards, yields the page.
        ordering = super().get_ordering(request, queryset)
        time_field = self.model_admin.time_field
        if ORDER_VAR in self.params and ordering[:1] == [time_field]:
            return [time_field, "pk"]
        return [f"-{time_field}", "-pk"]  # newest first, whatever the model's own ordering


def _check_query(parameters: Iterable[tuple[str, list[str]]], date_field: str | None) -> None:
    """Raise ``IncorrectLookupParameters`` for a value no database query can carry."""
    prefix = f"{date_field}__"
    for name, values in parameters:
        if any("\x00" in value for value in values):
            raise IncorrectLookupParameters(f"NUL in {name}")
        part = _DATE_PARTS.get(name[len(prefix) :]) if date_field and name.startswith(prefix) else None
        if part is not None and whole_number(values[-1]) not in part:
            raise IncorrectLookupParameters(f"{name} out of range")


class HistoryAdmin(admin.ModelAdmin):
    """A read-only record: nothing is added or edited here; superusers may delete."""

    #: The indexed time column the list is ordered by (newest first).
    time_field = "created_at"

    paginator = EstimatedCountPaginator
    show_full_result_count = False  # no COUNT(*) of the whole table per page
    show_facets = admin.ShowFacets.NEVER  # facet counts scan the table once per choice
    list_per_page = 50

    #: Whether the list pages keep the admin's app list on their left. Left out
    #: by default: at 1280 px it takes a quarter of the width, and the history
    #: needs all of it to show every column on one line (the breadcrumbs lead back).
    nav_sidebar = False

    @admin.display(description=gettext_lazy("cost"))
    def price(self, obj: MessageLog | MessageEvent) -> str:
        return display.money(obj.cost, obj.currency)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return HistoryChangeList

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        context = {"is_nav_sidebar_enabled": self.nav_sidebar and self.admin_site.enable_nav_sidebar}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def action_checkbox(self, obj: Model) -> SafeString:
        # Django's markup, without rendering a form widget through the template
        # engine for every row (a third of a list page's time).
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(_("Select this object for an action - {}"), obj.pk),
        )

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)
