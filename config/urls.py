"""URL configuration: pages, auth, admin, the API and the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import policy_views, security_views
from accounts import views as account_views
from accounts.forms import LoginForm
from visits import offline_views

from .api import api
from .views import LoginView, LogoutView, healthz, set_language

urlpatterns = [
    path("", account_views.home, name="home"),
    path("areas/", account_views.area_list, name="areas"),
    path("areas/<str:code>/", account_views.area_list, name="area_detail"),
    path("staff/", account_views.staff_list, name="staff"),
    path("staff/end-sessions/", account_views.staff_sessions_end, name="staff_sessions_end"),
    path("audit/", account_views.audit_list, name="audit"),
    path("audit/export.csv", account_views.audit_export, name="audit_export"),
    path("security/", security_views.security_home, name="security"),
    path("security/reset-device/", security_views.security_mfa_reset, name="security_mfa_reset"),
    path("security/accounts/", security_views.security_account, name="security_account"),
    path(
        "security/enrolment-code/",
        security_views.security_enrolment_code,
        name="security_enrolment_code",
    ),
    path(
        "security/clear-lockout/",
        security_views.security_lockout_clear,
        name="security_lockout_clear",
    ),
    path(
        "security/lift-import-lock/",
        security_views.security_import_lock_lift,
        name="security_import_lock_lift",
    ),
    path("children/", include("children.urls")),
    path("children/", include("benefits.urls")),
    # Reminders and the area settings keep the addresses they had under /visits/.
    path("visits/reminders/", include("reminders.urls")),
    path("visits/settings/", policy_views.area_policy, name="area_policy"),
    path("visits/", include("visits.urls")),
    path("reports/", include("reporting.urls")),
    path("dashboard/", include("dashboards.urls")),
    path(
        "accounts/login/",
        LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", security_views.mfa_verify, name="mfa_verify"),
    path("accounts/two-factor/set-up/", security_views.mfa_enrol, name="mfa_enrol"),
    path("accounts/security/", security_views.account_security, name="account_security"),
    path(
        "accounts/password/",
        account_views.OwnPasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("i18n/setlang/", set_language, name="set_language"),
    path("healthz", healthz, name="healthz"),
    # The installable web app (visits.offline_views): at the root, the service worker's scope.
    path("sw.js", offline_views.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline_views.web_manifest, name="web_manifest"),
    path("offline/", offline_views.offline, name="offline"),
    path("api/v1/", api.urls),
    path("manage/", admin.site.urls),
]

admin.site.site_header = _("Shouwang administration")
admin.site.site_title = _("Shouwang")
