"""Development settings used by `make run`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# The demo county (seed_demo, totp_code) and seed_scale: never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # noqa: F405

WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
