"""`make loadtest`: locust against gunicorn with a private PostgreSQL (see run.py)."""
