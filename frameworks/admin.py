from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from frameworks.models import (
    Approval,
    ChangeRequest,
    DocumentVersion,
    Framework,
    HistoryEvent,
    Target,
    TargetRole,
)


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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nobody adds, changes or deletes these rows here, superusers included: they are written
    by the services (the history and versions never change at all)."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(HistoryEvent)
class HistoryEventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "event",
        "outcome",
        "actor_name",
        "actor_kind",
        "target",
        "framework_name",
        "change_request_id",
    ]
    list_filter = ["event", "outcome", "actor_kind", "target"]
    search_fields = ["framework_name", "actor_name", "correlation_id"]
    date_hierarchy = "created_at"
    # Only the snapshot columns: the user or change a row names may no longer exist.
    list_select_related = ["target"]
    show_full_result_count = False


@admin.register(DocumentVersion)
class DocumentVersionAdmin(ReadOnlyAdmin):
    list_display = ["id", "content_hash", "created_at"]
    search_fields = ["content_hash"]


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    fields = readonly_fields = (
        "reviewer_name",
        "decision",
        "content_hash",
        "reason",
        "created_at",
        "dismissed_at",
    )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "target", "framework_name", "state", "author_name", "updated_at"]
    list_filter = ["state", "kind", "target"]
    search_fields = ["framework_name", "author_name", "reason"]
    list_select_related = ["target"]
    inlines = [ApprovalInline]
