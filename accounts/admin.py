"""Admin for areas, staff and API tokens."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, Area, User


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
