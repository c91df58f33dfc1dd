"""Load-test settings (`make loadtest`): production, served over plain HTTP on loopback.

Everything production does stays (DEBUG off, whitenoise with the manifest, CSP, throttles, axes,
session limits); only what cannot work on http://127.0.0.1 without a TLS proxy is relaxed, and a
bare view is routed for the comparison (benchmarks/loadtest/urls.py, never in config.urls).
"""

from .production import *  # noqa: F403

ROOT_URLCONF = "benchmarks.loadtest.urls"
# benchmarks/loadtest/run.py builds its data with seed_demo and seed_scale (demo has no
# models, URLs or middleware: what is served stays production's).
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # noqa: F405

# No TLS and no reverse proxy in front of gunicorn here.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
TRUSTED_PROXY_COUNT = 0

# No mail server on the machine; nothing in the load sends mail, but never try.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"axes": {"level": "ERROR"}},
}
