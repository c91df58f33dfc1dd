"""Development settings used by `make run`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
COMPILED_QUERIES_CHECK = env.bool("COMPILED_QUERIES_CHECK", default=True)

# The demo county (seed_demo, totp_code) and seed_scale: never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # noqa: F405

# Static files as in production (config/settings/production.py): `make run` collects them into
# STATIC_ROOT before the server starts, and WhiteNoise serves them under hashed names, gzip or
# Brotli compressed, with `Cache-Control: max-age=315360000, public, immutable`. A static file
# changed while the server runs shows after the next `make run`; a server started by hand needs
# `manage.py collectstatic` first (a page naming a file that was never collected is an error).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "config.storage.HashedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
