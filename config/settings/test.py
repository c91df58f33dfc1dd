"""Settings for the pytest suite: real PostgreSQL and Redis, fast password hashing."""

import copy

from .base import *  # noqa: F403
from .base import celery_queues, env

DEBUG = False
COMPILED_QUERIES_CHECK = True
# The demo county (seed_demo, totp_code) and seed_scale: tested and benchmarked here.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise warns when STATIC_ROOT is missing; tests serve static files through the finders.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# The whole suite calls the API as a handful of users within a minute, and concurrent runs share
# Redis: rate limits would only add flakiness. tests/security lowers them where they are tested.
API_RATE_LIMIT_AUTHENTICATED = "1000000/m"
API_RATE_LIMIT_ANONYMOUS = "1000000/m"

# A separate test database name lets `make bench` run beside the test suite.
_TEST_DATABASE_NAME = env("TEST_DATABASE_NAME", default="")
if _TEST_DATABASE_NAME:
    DATABASES["default"]["TEST"] = {"NAME": _TEST_DATABASE_NAME}  # noqa: F405
# Each pytest-xdist worker (gw0, gw1…) has its own test database (pytest-django adds the suffix).
# Concurrent runs and workers share Redis while user and task ids repeat across their databases:
# keep their cache keys (session epochs, throttles) and Celery queues apart, so that one cannot end
# another's sessions or run another's task against the wrong database.
_RUN = "-".join(filter(None, ["test", _TEST_DATABASE_NAME, env("PYTEST_XDIST_WORKER", default="")]))
CACHES["default"]["KEY_PREFIX"] = f"shouwang-{_RUN}"  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"shouwang-{_RUN}"
# The routed queues too (sweep, digests…): shouwang-<run>-sweep, and so on.
CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(
    CELERY_TASK_DEFAULT_QUEUE, prefix=f"{CELERY_TASK_DEFAULT_QUEUE}-"
)

# One database. The replica's alias always exists here, as a mirror of the test database (the same
# database, through a second connection), but no read goes to it unless a test sets
# DATABASE_READ_REPLICA = "replica" (tests/core/test_replica.py). Such a test commits what it reads
# (transaction=True): a second connection does not see the test's open transaction.
DATABASES["replica"] = {  # noqa: F405
    **copy.deepcopy(DATABASES["default"]),  # noqa: F405
    "OPTIONS": {
        **DATABASES["default"].get("OPTIONS", {}),  # noqa: F405
        "connect_timeout": DATABASE_REPLICA_CONNECT_TIMEOUT,  # noqa: F405
    },
    "TEST": {"MIRROR": "default"},
}
DATABASE_READ_REPLICA = ""
