"""Hand queued tasks from the outbox table to Celery; catch up daily tasks beat missed.

Runs beside the worker (Procfile.dev, docker-compose.yml). It needs only PostgreSQL to stay up:
when the broker is down it keeps the tasks and retries with back-off; when PostgreSQL restarts it
reconnects. ``--once`` relays what is waiting and exits; ``--inline`` runs the tasks in this
process instead of sending them (no worker available).
"""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone

from accounts import outbox

logger = logging.getLogger("accounts.outbox")

WAIT_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 30.0


class Command(BaseCommand):
    help = "Relay the task outbox to Celery (and queue daily tasks that beat missed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="relay what is waiting and exit")
        parser.add_argument(
            "--inline", action="store_true", help="run waiting tasks here, without a worker"
        )

    def handle(self, *args, once: bool = False, inline: bool = False, **options) -> None:
        if inline:
            outbox.catch_up()
            self.stdout.write(f"ran {outbox.run_inline()} task(s)")
            return
        if once:
            outbox.catch_up()
            result = outbox.relay()
            self.stdout.write(f"sent {result.sent}, waiting {outbox.pending_count()}")
            if result.failed:
                self.stderr.write(f"broker refused: {result.error}")
                raise SystemExit(1)
            return
        self._loop()

    def _loop(self) -> None:
        backoff = 1.0
        listening = False
        last_prune = 0.0
        while True:
            try:
                if not listening:
                    connection.ensure_connection()
                    connection.connection.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
                    listening = True
                outbox.catch_up()
                result = outbox.relay()
                if time.monotonic() - last_prune > 3600:
                    outbox.prune()
                    last_prune = time.monotonic()
            except OperationalError as exc:
                # PostgreSQL restarting: reconnect and LISTEN again.
                logger.warning("database unavailable (%s); retrying in %.0f s", exc, backoff)
                listening = False
                close_old_connections()
                connection.close()
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if result.failed:
                logger.warning(
                    "broker unavailable (%s); %d task(s) waiting, retrying in %.0f s",
                    result.error,
                    outbox.pending_count(),
                    backoff,
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 1.0
            if result.sent:
                logger.info("relayed %d task(s) at %s", result.sent, timezone.now().isoformat())
                continue  # there may be more
            try:
                self._wait()
            except OperationalError:
                listening = False
                connection.close()

    def _wait(self) -> None:
        """Sleep until a NOTIFY arrives (a task was queued) or WAIT_SECONDS pass."""
        try:
            for _ in connection.connection.notifies(timeout=WAIT_SECONDS, stop_after=1):
                pass
        except Exception as exc:  # the connection broke while waiting: the loop reconnects
            raise OperationalError(str(exc)) from exc
