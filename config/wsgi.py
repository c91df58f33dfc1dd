"""WSGI entry point for gunicorn."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()

# What the worker has built so far (Django, the apps, their models and URLs) lives as long as the
# worker: out of the garbage collector's sight, so that its full collections walk only what the
# requests make (about 2 % of a page's CPU).
gc.freeze()
