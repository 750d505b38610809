from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from frameworks.models import (
    AccessChange,
    Approval,
    ChangeRequest,
    DocumentVersion,
    Framework,
    HistoryEvent,
    Target,
    TargetRole,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nobody adds, changes or deletes these rows here, superusers included: they are written
    by the services (the history and versions never change at all; people, roles and targets
    change on the product's own pages, where the change is guarded and recorded)."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class TargetRoleInline(admin.TabularInline):
    model = TargetRole
    extra = 0
    fields = readonly_fields = ("user", "group")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Target)
class TargetAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "slug", "region", "account_id", "credentials", "last_synced_at"]
    search_fields = ["display_name", "slug", "account_id"]
    inlines = [TargetRoleInline]

    @admin.display(description="Credentials")
    def credentials(self, obj: Target) -> str:
        return obj.credentials_label


@admin.register(TargetRole)
class TargetRoleAdmin(ReadOnlyAdmin):
    list_display = ["user", "group", "target"]
    list_filter = ["group", "target"]
    list_select_related = ["user", "group", "target"]


@admin.register(AccessChange)
class AccessChangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "state", "actor_name", "subject", "group", "target"]
    list_filter = ["kind", "state"]
    list_select_related = ["subject", "group", "target"]
    exclude = ["password_hash"]


# Accounts and groups: shown, never changed here (the People pages and the command line do).
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ReadOnlyUserAdmin(ReadOnlyAdmin, UserAdmin):
    # Not the password hash, not even its summary.
    fieldsets = (
        (None, {"fields": ("username",)}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Standing", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )


@admin.register(Group)
class ReadOnlyGroupAdmin(ReadOnlyAdmin, GroupAdmin):
    pass


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
