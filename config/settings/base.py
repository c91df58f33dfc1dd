"""Settings shared by every environment. Only settings read the environment (style rule 1)."""

import re
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

from config import embedded
from core.keys import derive_key

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

SECRET_KEY = env(
    "DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789"
)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# core.compiled: compile a kept queryset again on every run and fail if its statement changed
# (a build that reads a user or the clock). On in the tests and in development.
COMPILED_QUERIES_CHECK = env.bool("COMPILED_QUERIES_CHECK", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "ninja",
    "django.contrib.postgres",
    "pgtrigger",
    "pghistory",
    "core",
    "accounts",
    "children",
    "visits",
    "reporting",
    "benefits",
    "reminders",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and API answers gzip-compressed (WhiteNoise, above, serves static files precompressed).
    # Above every middleware that reads or rewrites the body, as Django's docs ask. BREACH: CSRF
    # tokens are masked afresh on every response, and since Django 4.2 this middleware pads each
    # gzip stream with random bytes ("Heal the Breach"), so a response's length leaks no secret.
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.security.NoStoreMiddleware",
    # Before anything reads the request: NUL bytes and oversized bodies are answered 400/413.
    "config.security.BadRequestMiddleware",
    # Django's, except that an answer to a request sent before the session key and CSRF secret
    # changed (sign-in, second factor) cannot undo the new cookies (accounts.session_limits).
    "accounts.session_limits.SessionMiddleware",
    "config.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A phone's upload whose session ended: 401 JSON, not the sign-in page (core.capture).
    "core.capture.SyncLoginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.AuditMiddleware",
    "accounts.session_limits.SessionLimitMiddleware",
    # After the session limits: a session they end never reaches the second-factor step.
    "accounts.mfa.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees authentication results (django-axes requirement).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.navigation",
                "accounts.context_processors.capabilities",
                "reminders.context_processors.reminder_badge",
            ],
            # After Django's own built-ins: the ``date`` filter with its common formats written
            # out (same text, a twentieth of the CPU), and ``{% extends %}`` finding the blocks
            # of base.html once rather than on every page.
            "builtins": ["core.templatetags.dates", "core.templatetags.extends"],
        },
    },
]

# --- Database and broker -------------------------------------------------------------------
# With no DATABASE_URL / REDIS_URL: the embedded servers under var/ (SHOUWANG_VAR_DIR), whose
# addresses config.embedded computes without starting anything. `make run`, `make test` and
# pytest start them (config/embedded.py run, tests/conftest.py); a bare `manage.py` uses them
# while they run. In production a missing URL is a configuration error.
_PRODUCTION = env("DJANGO_SETTINGS_MODULE", default="").endswith(".production")
if _PRODUCTION and not (env("DATABASE_URL", default="") and env("REDIS_URL", default="")):
    raise ImproperlyConfigured("DATABASE_URL and REDIS_URL are required in production")
_VAR_DIR = Path(env("SHOUWANG_VAR_DIR", default=str(BASE_DIR / "var")))
_DATABASE_URL = env("DATABASE_URL", default="") or embedded.database_url(_VAR_DIR)
DATABASES = {"default": environ.Env.db_url_config(_DATABASE_URL)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


def _generic_plans(options: dict) -> dict:
    """Connection options under which a prepared statement is planned once, without its values,
    and that plan reused (plan_cache_mode). Only core.prepared prepares statements, and only
    those whose plan does not depend on their values (a key looked up, one village's rows):
    PostgreSQL would otherwise plan each of them five times per connection, then again on
    every run whose guessed cost looked lower with the values. Statements bound in the client
    (the ORM's) are planned with their values as always."""
    given = options.get("options", "")
    return {**options, "options": f"{given} -c plan_cache_mode=force_generic_plan".strip()}


DATABASES["default"]["OPTIONS"] = _generic_plans(DATABASES["default"].get("OPTIONS", {}))

# A streaming replica of that database (optional; issue 20, "past one machine"). Dashboards,
# exports, /api/v1/stats and the hand-over read from it (core.replica.reading_from_replica);
# every write and every other read go to the primary. A replica that does not answer within
# DATABASE_REPLICA_CONNECT_TIMEOUT seconds, or is more than DATABASE_REPLICA_MAX_LAG_SECONDS
# behind, is left alone for DATABASE_REPLICA_RETRY_SECONDS and the primary answers meanwhile.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_CONNECT_TIMEOUT = env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2)
DATABASE_REPLICA_MAX_LAG_SECONDS = env.int("DATABASE_REPLICA_MAX_LAG_SECONDS", default=300)
DATABASE_REPLICA_RETRY_SECONDS = env.int("DATABASE_REPLICA_RETRY_SECONDS", default=30)
DATABASE_READ_REPLICA = ""  # the replica's alias in DATABASES, when there is one
if DATABASE_REPLICA_URL:
    DATABASE_READ_REPLICA = "replica"
    DATABASES[DATABASE_READ_REPLICA] = {
        **environ.Env.db_url_config(DATABASE_REPLICA_URL),
        "ATOMIC_REQUESTS": False,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
    }
    DATABASES[DATABASE_READ_REPLICA]["OPTIONS"] = _generic_plans(
        {
            "connect_timeout": DATABASE_REPLICA_CONNECT_TIMEOUT,
            **DATABASES[DATABASE_READ_REPLICA].get("OPTIONS", {}),
        }
    )
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]

REDIS_URL = env("REDIS_URL", default="") or embedded.redis_url(_VAR_DIR)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.auth.AreaModelBackend",
]
# Argon2id with measured parameters (accounts/hashers.py); passwords stored with Django's PBKDF2
# before still verify and are rewritten as Argon2 at their next sign-in.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "accounts.validators.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions end after 30 minutes (accounts.session_limits). The session row is rewritten at most
# once a minute, not on every request (at 100,000 staff that is most of the write load), so the
# idle time counts from the last request to within a minute; the row outlives it by that minute.
SESSION_ENGINE = "accounts.session_store"  # Django's database sessions, read by one statement
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_TOUCH_SECONDS = 60
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS + SESSION_TOUCH_SECONDS
SESSION_SAVE_EVERY_REQUEST = False
# However active, a session ends this long after the sign-in (accounts.session_limits).
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# Reverse proxies in front of Django (production: one nginx). Their X-Forwarded-For entries are the
# only ones trusted when working out the client's address (core.web.client_ip).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# django-axes: 5 failures lock for 15 minutes, then the lock lifts by itself (never permanently).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_CLIENT_IP_CALLABLE = "core.web.client_ip"
# Locked by username: five failures of one account, from any address, lock that account for 15
# minutes, and a successful sign-in forgives only the account that signed in (never the failures of
# other accounts tried from the same address: issue 14, H1). Locked by address too, by our handler
# (accounts.lockout), at a higher number: a password sprayed over many accounts from one address
# stops after LOGIN_IP_FAILURE_LIMIT failures in 15 minutes, while a township office behind one
# NAT address is not locked out by a few colleagues' typos. 0 switches the address lock off.
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username"]
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=20)
# axes.W006 asks for "ip_address" in AXES_LOCKOUT_PARAMETERS; the address lock is ours (above).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
# A fixed 15 minutes: attempts while locked do not extend the lock.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
# Lockouts are the security officer's (/security/), not the system administrator's: keep axes'
# tables out of the admin site (等保 三权分立).
AXES_ENABLE_ADMIN = False

# Two-factor sign-in (django-otp, TOTP). Users of these roles must enrol an authenticator app and
# give its 6-digit code after the password; anyone else may enrol voluntarily (then must too).
# Bearer API tokens are not affected: they are machine credentials created by an administrator.
MFA_REQUIRED_ROLES = env.list(
    "MFA_REQUIRED_ROLES", default=["supervisor", "civil_affairs", "admin", "security", "auditor"]
)
_ROLES = {"director", "supervisor", "civil_affairs", "viewer", "reporter", "admin", "security",
          "auditor"}  # fmt: skip
if _unknown := set(MFA_REQUIRED_ROLES) - _ROLES:
    raise ImproperlyConfigured(f"MFA_REQUIRED_ROLES names unknown roles: {sorted(_unknown)}")
# Accounts of these roles (and superusers) enrol a second factor only with a one-time code that
# the security officer issues (shown once, valid MFA_ENROLMENT_CODE_HOURS), not on trust at first
# use: whoever learnt the password first would otherwise own the account (issue 14, H2). Civil
# affairs too: they approve money and read full ID numbers county-wide, and the administrator who
# creates their account knows its first password.
MFA_ENROLMENT_CODE_ROLES = env.list(
    "MFA_ENROLMENT_CODE_ROLES", default=["admin", "security", "auditor", "civil_affairs"]
)
if _unknown := set(MFA_ENROLMENT_CODE_ROLES) - _ROLES:
    raise ImproperlyConfigured(f"MFA_ENROLMENT_CODE_ROLES names unknown roles: {sorted(_unknown)}")
MFA_ENROLMENT_CODE_HOURS = env.int("MFA_ENROLMENT_CODE_HOURS", default=72)
# Reminders answered longer ago than this are deleted by the daily sweep (open ones never are):
# the table stays the size of what is due, not of every reminder ever raised.
REMINDER_RETENTION_DAYS = env.int("REMINDER_RETENTION_DAYS", default=400)
# Audit records: monthly partitions older than this are detached to the audit_archive schema by
# `manage.py audit_archive` (never deleted by the application); at least 6 months.
AUDIT_RETENTION_MONTHS = env.int("AUDIT_RETENTION_MONTHS", default=36)
if AUDIT_RETENTION_MONTHS < 6:
    raise ImproperlyConfigured("AUDIT_RETENTION_MONTHS must be at least 6.")
if REMINDER_RETENTION_DAYS < 90:
    raise ImproperlyConfigured("REMINDER_RETENTION_DAYS must be at least 90 (the 已完成 tab).")
# API tokens end after this many days unless create_api_token --days says otherwise.
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)
OTP_TOTP_ISSUER = "守望 Shouwang"
# django-otp's own throttle: after n wrong codes in a row the next is refused for
# OTP_TOTP_THROTTLE_FACTOR × 2^(n-1) seconds (1 s, 2 s, 4 s, … 512 s after ten).
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_TOTP_THROTTLE_FACTOR", default=1)

# --- Web hardening ------------------------------------------------------------------------
# No inline script, style or event handler anywhere (templates are tested for it); the vendored
# Bootstrap and htmx come from our own origin (no CDN). htmx's indicator <style> is switched off in
# base.html. The PDF templates are rendered by WeasyPrint on the server and never served as pages.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap draws form controls with data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],
        # The installable web app (visits.offline_views): /sw.js and /manifest.webmanifest.
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# API rate limits (django-ninja throttles, counted in the Redis cache): per user for token and
# session calls, per client IP for anonymous ones. "600/m" = 600 requests a minute.
API_RATE_LIMIT_AUTHENTICATED = env("API_RATE_LIMIT_AUTHENTICATED", default="600/m")
API_RATE_LIMIT_ANONYMOUS = env("API_RATE_LIMIT_ANONYMOUS", default="60/m")
for _rate in (API_RATE_LIMIT_AUTHENTICATED, API_RATE_LIMIT_ANONYMOUS):
    if not re.fullmatch(r"[1-9]\d*/\d*(s|sec|m|min|h|hour|d|day)", _rate):
        raise ImproperlyConfigured(f"API rate limit {_rate!r} is not like '600/m'")

# --- i18n ----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
# Uploaded files (scans, photos) live outside the web root and are served by views that check scope.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Uploaded images over this many pixels are refused from their header, before anything decodes
# them (core.uploads.image_check); Pillow refuses them too (core.apps). A 40-megapixel image
# decodes to at most 160 MB.
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
if IMAGE_MAX_PIXELS < 1_000_000:
    raise ImproperlyConfigured("IMAGE_MAX_PIXELS must be at least 1000000")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# An unacknowledged task (acks_late) of a worker that died is redelivered after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
# Periodic tasks are declared in one place: config/celery_app.py (BEAT_SCHEDULE).

# Queues (issue 20, "past one machine"), by task name, so each kind of work can have workers of
# its own (docker-compose.yml: worker-exports). Every worker command names them all
# (`-Q celery,sweep,digests,exports,outbox`, also what a worker without -Q consumes); a task not
# listed goes to the default queue, "celery". tests/config/test_queues.py checks both.
TASKS_BY_QUEUE: dict[str, tuple[str, ...]] = {
    # The set-based jobs (the daily ones, and an area's recount after its policy changed): each
    # takes the database for seconds to a minute at scale and most run one at a time (advisory
    # locks), so one worker process is enough; apart, they never hold up a digest or an export.
    "sweep": (
        "reminders.send_reminders",
        "visits.send_reminders",  # the sweep's name before issue 15 (reminders/tasks.py)
        "children.refresh_derived",
        "children.expire_agreements",
        "children.age_out",
        "children.recompute_area",
        "benefits.monthly_entitlements",
        "dashboards.refresh_stats",
    ),
    # One task per recipient after the sweep: waits on mail and SMS providers; scale out freely.
    "digests": (
        "reminders.send_digests",
        "reminders.send_digest",
        "visits.send_digests",
        "visits.send_digest",
    ),
    # Files of a city or a province written whole: minutes each, memory and the replica's reads.
    "exports": ("dashboards.run_export", "dashboards.prune_exports"),
    # What a change queues through the outbox for the apps above it, and messages to people
    # (texts to parents, e-mail to security officers): small, and people wait for them.
    "outbox": (
        "children.text_parents",
        "accounts.import_lock_notify",
        "benefits.child_closed",
        "benefits.recheck_enrolments",
        "benefits.child_moved",
        "reporting.child_moved",
        "reminders.child_moved",
        "reminders.report_filed",
    ),
}


def celery_queues(default: str, prefix: str = "") -> tuple[list[Queue], dict[str, dict]]:
    """Celery's task_queues and task_routes for TASKS_BY_QUEUE: every queue declared (so a
    worker without -Q consumes them all), each routed queue named ``prefix + name``."""
    names = [default, *(prefix + queue for queue in TASKS_BY_QUEUE)]
    queues = [Queue(name, Exchange(name), routing_key=name) for name in names]
    routes = {
        task: {"queue": prefix + queue} for queue, tasks in TASKS_BY_QUEUE.items() for task in tasks
    }
    return queues, routes


CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)

# Redis down must not stop directors logging visits: config/cache.py turns an unreachable Redis
# into cache misses (quickly: half a second to connect at most).
CACHES = {
    "default": {
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "shouwang",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 2},
    },
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="守望 <noreply@shouwang.local>")

# --- Messages: text messages and 企业微信 (core/messaging) -----------------------------------
# Links in digests are built on this address (the site as people open it).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# No SMS channel unless one is set: "aliyun" (阿里云短信), "tencent" (腾讯云短信), "logging"
# (development only: nothing is sent) or a dotted path. Without one, parents are phoned.
SMS_BACKEND = env("SMS_BACKEND", default="")
SMS_SIGN_NAME = env("SMS_SIGN_NAME", default="")
# The approved template per message: SMS_TEMPLATES=digest=SMS_123,parent_notice=SMS_456
# Parameters: digest ${count} ${url}; parent_notice ${child} ${caregiver} ${due} (Tencent: {1}…).
SMS_TEMPLATES = env.dict("SMS_TEMPLATES", default={})
SMS_TIMEOUT_SECONDS = env.int("SMS_TIMEOUT_SECONDS", default=10)
ALIYUN_SMS_ACCESS_KEY_ID = env("ALIYUN_SMS_ACCESS_KEY_ID", default="")
ALIYUN_SMS_ACCESS_KEY_SECRET = env("ALIYUN_SMS_ACCESS_KEY_SECRET", default="")
ALIYUN_SMS_ENDPOINT = env("ALIYUN_SMS_ENDPOINT", default="https://dysmsapi.aliyuncs.com")
TENCENT_SMS_SECRET_ID = env("TENCENT_SMS_SECRET_ID", default="")
TENCENT_SMS_SECRET_KEY = env("TENCENT_SMS_SECRET_KEY", default="")
TENCENT_SMS_SDK_APP_ID = env("TENCENT_SMS_SDK_APP_ID", default="")
TENCENT_SMS_REGION = env("TENCENT_SMS_REGION", default="ap-guangzhou")
TENCENT_SMS_ENDPOINT = env("TENCENT_SMS_ENDPOINT", default="https://sms.tencentcloudapi.com")
_SMS_NEEDS = {
    "aliyun": ["ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME"],
    "tencent": [
        "TENCENT_SMS_SECRET_ID",
        "TENCENT_SMS_SECRET_KEY",
        "TENCENT_SMS_SDK_APP_ID",
        "SMS_SIGN_NAME",
    ],
}
if SMS_BACKEND in _SMS_NEEDS:
    _missing = [name for name in _SMS_NEEDS[SMS_BACKEND] if not globals()[name]]
    _missing += [
        f"SMS_TEMPLATES[{t}]" for t in ("digest", "parent_notice") if not SMS_TEMPLATES.get(t)
    ]
    if _missing:
        raise ImproperlyConfigured(f"SMS_BACKEND={SMS_BACKEND} needs {', '.join(_missing)}")
if SMS_BACKEND == "logging" and _PRODUCTION:
    raise ImproperlyConfigured("SMS_BACKEND=logging sends nothing: not in production")
# 企业微信 application messages to staff: all three, or none (no WeCom channel).
WECOM_CORP_ID = env("WECOM_CORP_ID", default="")
WECOM_AGENT_ID = env("WECOM_AGENT_ID", default="")
WECOM_SECRET = env("WECOM_SECRET", default="")
WECOM_API_URL = env("WECOM_API_URL", default="https://qyapi.weixin.qq.com/cgi-bin/")
if any([WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET]) and not all(
    [WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET]
):
    raise ImproperlyConfigured("WECOM_CORP_ID, WECOM_AGENT_ID and WECOM_SECRET go together")

# --- Sensitive data -----------------------------------------------------------------------
# ID numbers and case notes are encrypted with Fernet; list several keys (newest first) to rotate.
# The lookup hash key must never change once data exists (it finds duplicates).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
ID_HASH_KEY = env("ID_HASH_KEY", default="")
if not FIELD_ENCRYPTION_KEYS or not ID_HASH_KEY:
    if _PRODUCTION:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS and ID_HASH_KEY are required in production"
        )
    FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [derive_key(SECRET_KEY, "fields")]
    ID_HASH_KEY = ID_HASH_KEY or derive_key(SECRET_KEY, "id-hash")

# --- Mandatory reports ----------------------------------------------------------------------
# How long each stage may stay open before report_deadline reminders (days; domain §6 defaults).
REPORT_STAGE_LIMIT_DAYS = {
    "reported": env.int("REPORT_LIMIT_REPORTED_DAYS", default=1),
    "police_received": env.int("REPORT_LIMIT_POLICE_RECEIVED_DAYS", default=3),
    "emergency_handled": env.int("REPORT_LIMIT_EMERGENCY_HANDLED_DAYS", default=7),
    "assessed": env.int("REPORT_LIMIT_ASSESSED_DAYS", default=14),
    "intervention": env.int("REPORT_LIMIT_INTERVENTION_DAYS", default=180),
}

# --- Health check --------------------------------------------------------------------------
HEALTHCHECK_TIMEOUT_SECONDS = 2

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": env("AXES_LOG_LEVEL", default="ERROR")}},
}
