from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from frameworks.models import Framework, Target, TargetRole


class TargetRoleInline(admin.TabularInline):
    model = TargetRole
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["display_name", "slug", "region", "account_id", "credentials", "last_synced_at"]
    search_fields = ["display_name", "slug", "account_id"]
    readonly_fields = ["account_id", "last_synced_at", "last_sync_error", "last_sync_error_code"]
    prepopulated_fields = {"slug": ["display_name"]}
    inlines = [TargetRoleInline]

    @admin.display(description="Credentials")
    def credentials(self, obj: Target) -> str:
        return obj.credentials_label


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    """Read-only: the mirror is written by sync from what AWS reports, never by hand."""

    list_display = ["name", "target", "deployment_status", "framework_status", "present"]
    list_filter = ["target", "present", "deployment_status"]
    search_fields = ["name", "arn"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
