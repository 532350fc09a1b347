from django.contrib import admin

from .models import UserPhone


@admin.register(UserPhone)
class UserPhoneAdmin(admin.ModelAdmin):
    list_display = ["user", "phone", "verified", "updated_at"]
    list_filter = ["verified"]
    raw_id_fields = ["user"]
    search_fields = ["phone"]
    readonly_fields = ["updated_at"]
