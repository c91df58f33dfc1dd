"""Run a command in this interpreter with a faked wall clock that starts at a given instant and then
ticks at the real rate (time-machine): ``python tests/drills/fakeclock.py ISO8601 -- celery …``.

Used by the beat drill to run a real ``celery beat`` process "at 07:59" and "at 08:30" today, and
by the Redis drill to run the outbox relay (``-- manage.py outbox_relay``) "at 08:09" today.
Only this process's clock is faked (time.time, datetime.now, …); sleeps and timeouts are real.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import time_machine


def main(argv: list[str]) -> None:
    start, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: fakeclock.py ISO8601 -- celery ARGS…")
    time_machine.travel(datetime.fromisoformat(start), tick=True).start()
    if command[0] == "manage.py":  # a management command (the outbox relay)
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        from django.core.management import execute_from_command_line

        execute_from_command_line(command)
        return
    if command[0] != "celery":
        raise SystemExit("only celery and manage.py are supported")
    from celery.__main__ import main as celery_main

    sys.argv = command
    sys.exit(celery_main())


if __name__ == "__main__":
    main(sys.argv[1:])
