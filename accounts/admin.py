"""Admin for areas, staff and API tokens."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ApiToken, Area, AreaPolicy, AuditRecord, OutboxMessage, User


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the application writes and nobody edits here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "valid_from", "valid_to")
    list_filter = ("level",)
    search_fields = ("code", "name")
    readonly_fields = ("level", "parent")
    list_select_related = ("parent",)
    ordering = ("code",)

    def save_model(self, request, obj, form, change):
        from . import rules

        obj.level = rules.parse_level(obj.code)
        parent_code = rules.parent_code(obj.code)
        obj.parent = Area.objects.filter(code=parent_code).first() if parent_code else None
        super().save_model(request, obj, form, change)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "name", "role", "area", "is_active", "last_login")
    list_filter = ("role", "area__level", "is_active")
    search_fields = ("username", "name", "phone", "area__code", "area__name")
    list_select_related = ("area",)
    autocomplete_fields = ("area",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Role and area"), {"fields": ("name", "phone", "role", "area")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Role and area"), {"fields": ("name", "phone", "role", "area")}),
    )
    actions = ("end_sessions",)

    @admin.action(description=_("End all sessions"))
    def end_sessions(self, request, queryset):
        from django.contrib.auth import logout
        from django.core.exceptions import PermissionDenied

        from .services import user_sessions_end

        try:
            for user in queryset:
                user_sessions_end(by=request.user, user=user)
        except PermissionDenied:
            self.message_user(request, _("Only administrators can end sessions."), messages.ERROR)
            return None
        count = len(queryset)
        if any(user.pk == request.user.pk for user in queryset):
            # Our own session row is gone: sign out now rather than fail when the request ends.
            logout(request)
            return None
        self.message_user(
            request,
            ngettext(
                "Ended the sessions of %(count)d person.",
                "Ended the sessions of %(count)d people.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
        return None


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at", "revoked_at")
    search_fields = ("user__username", "prefix")
    list_select_related = ("user",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
    fields = ("user", "prefix", "created_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request):
        # Tokens are created with `create_api_token`, which shows the secret once.
        return False


@admin.register(AreaPolicy)
class AreaPolicyAdmin(admin.ModelAdmin):
    list_display = ("area", "updated_at")
    search_fields = ("area__code", "area__name")
    autocomplete_fields = ("area",)

    def save_model(self, request, obj, form, change):
        # The same service as the settings page, so due dates below are recomputed.
        from visits.services import area_policy_update

        from .services import POLICY_DEFAULTS

        values = {name: getattr(obj, name) for name in POLICY_DEFAULTS}
        area_policy_update(user=request.user, area_code=obj.area_id, values=values)


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """Read-only: audit records are never changed through the application. And not even read
    here: the system administrator does not review the audit log (等保 三权分立); the auditor
    reads it at /audit/."""

    list_display = ("at", "username", "action", "object_type", "object_id", "area_code", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "username", "area_code")

    def has_view_permission(self, request, obj=None):
        from . import rules

        return rules.may_read_audit_log(request.user.role)

    def has_module_permission(self, request):
        return self.has_view_permission(request)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Tasks waiting for the broker (the outbox), for the administrator to see a backlog or a
    task that keeps failing. Read-only: the relay sends and prunes them."""

    list_display = ("id", "task", "created_at", "sent_at", "attempts", "last_error")
    list_filter = (("sent_at", admin.EmptyFieldListFilter), "task")
    search_fields = ("task", "last_error")
    readonly_fields = ("task", "task_id", "args", "kwargs", "created_at", "sent_at", "attempts")


def _unregister_otp_devices() -> None:
    """Second factors are reset by the security officer (/security/), audited, never edited by
    the system administrator in the admin site."""
    from contextlib import suppress

    from django.contrib.admin.exceptions import NotRegistered
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with suppress(NotRegistered):
        admin.site.unregister(TOTPDevice)


_unregister_otp_devices()
