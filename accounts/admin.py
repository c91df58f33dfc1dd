"""Admin for areas, staff and API tokens."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ApiToken, Area, AreaPolicy, AuditRecord, OutboxMessage, Role, User


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
    """The administrator's staff accounts. 等保 三权分立 (issue 14, H2): the three system roles
    (administrator, security officer, auditor) and superuser status are not the administrator's
    to create or change — those accounts are read-only here and their roles are not offered; the
    security officer manages them at /security/accounts/. Every save, password and activation
    goes through accounts.staff.staff_save, which checks that rule again and audits the change."""

    list_display = ("username", "name", "role", "area", "is_active", "last_login")
    list_filter = ("role", "area__level", "is_active")
    search_fields = ("username", "name", "phone", "area__code", "area__name")
    list_select_related = ("area",)
    autocomplete_fields = ("area",)
    # No superuser, staff, group or permission fields: they follow the role (staff_save).
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Role and area"),
            {"fields": ("name", "phone", "email", "role", "area", "organisation")},
        ),
        (_("Status"), {"fields": ("is_active",)}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (
            _("Role and area"),
            {"fields": ("name", "phone", "email", "role", "area", "organisation")},
        ),
    )
    actions = ("end_sessions",)

    def _may_manage(self, request, obj) -> bool:
        from . import staff

        return obj is None or staff.may_manage(
            request.user, obj.role, is_superuser=obj.is_superuser
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self._may_manage(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Accounts are deactivated, never deleted (what they did stays attributable).
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            # A partner's organisation (required for that role: User.clean), named with its
            # area: two counties may each have one of the same name.
            from .models import Organisation

            kwargs["queryset"] = Organisation.objects.select_related("area").order_by(
                "area_id", "name"
            )
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            field.label_from_instance = lambda o: f"{o.name} · {o.area.name}"
            field.help_text = _("Only for the staff of a referral organisation.")
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            from . import staff

            kwargs["choices"] = [
                (value, label)
                for value, label in Role.choices
                if staff.may_manage(request.user, value)
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        from . import staff

        # Django's creation form has set the password already.
        staff.staff_save(
            by=request.user,
            user=obj,
            via=staff.ADMIN_SITE,
            password_set=not change,
            request=request,
        )

    def user_change_password(self, request, id, form_url=""):
        from django.core.exceptions import PermissionDenied

        from . import staff

        account = self.get_object(request, id)
        if account is not None and not self._may_manage(request, account):
            raise PermissionDenied
        response = super().user_change_password(request, id, form_url)
        if account is not None and request.method == "POST" and response.status_code == 302:
            staff.password_changed(
                by=request.user, account=account, via=staff.ADMIN_SITE, request=request
            )
        return response

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
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are created with `create_api_token` on the server, which shows the secret once;
    here they are seen and revoked (audited), nothing else."""

    list_display = ("prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    search_fields = ("user__username", "prefix")
    list_select_related = ("user",)
    fields = ("user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        from django.core.exceptions import PermissionDenied

        from . import staff

        revoked = 0
        for token in queryset.select_related("user"):
            try:
                staff.api_token_revoke(by=request.user, token=token, request=request)
            except PermissionDenied:
                continue
            revoked += 1
        self.message_user(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )


@admin.register(AreaPolicy)
class AreaPolicyAdmin(admin.ModelAdmin):
    list_display = ("area", "updated_at")
    search_fields = ("area__code", "area__name")
    autocomplete_fields = ("area",)

    def save_model(self, request, obj, form, change):
        # The same service as the settings page, so due dates below are recomputed.
        from .services import POLICY_DEFAULTS, area_policy_update

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
        from .permissions import Capability, can

        return can(request.user, Capability.AUDIT_LOG_READ)

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
    the system administrator in the admin site. Django's permission groups are not used (a role
    decides what a user may do), so they are not offered either."""
    from contextlib import suppress

    from django.contrib.admin.exceptions import NotRegistered
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for model in (TOTPDevice, Group):
        with suppress(NotRegistered):
            admin.site.unregister(model)


_unregister_otp_devices()
