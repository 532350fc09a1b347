from django.contrib import admin
from django_otp.admin import user_model_search_fields

from .models import EngageLabDevice


@admin.register(EngageLabDevice)
class EngageLabDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "recipient", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed", "created_at", "last_used_at"]
    raw_id_fields = ["user"]
    readonly_fields = ["message_id", "created_at", "last_used_at", "last_generated_timestamp"]
    fieldsets = [
        (None, {"fields": ["user", "name", "confirmed", "recipient"]}),
        ("Codes", {"fields": ["message_id", "last_generated_timestamp", "created_at", "last_used_at"]}),
    ]

    def get_search_fields(self, request):
        fields, _help = user_model_search_fields(["username", "email"])
        return [*fields, "recipient"]
