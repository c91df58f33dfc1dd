"""A competing process for the load test (``--busy-cores``): burns CPU on part of the machine.

    python -m benchmarks.loadtest.busy CORES

A duty-cycled busy loop: in every 10 ms period it spins for CORES × 10 ms of its own CPU time,
then sleeps until the period ends (0.5: spin 5 ms, sleep 5 ms). The spin counts CPU time, not
wall time, so a process that the scheduler preempts still asks for its share; when it falls behind
it does not catch up in a burst. More than one core: one process per core, each with an equal part
(1.5 → two processes at 0.75), the extra ones forked children of the first, so that the CPU of
the whole group is that of one process tree (benchmarks/loadtest/cpu.py). Runs until SIGTERM, or
until its parent (the load test) is gone.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import time

PERIOD_SECONDS = 0.01


def duty_cycle(cores: float, period: float = PERIOD_SECONDS) -> tuple[float, float]:
    """(spin, sleep) seconds in each period of a loop that keeps ``cores`` (0–1) of one core
    busy."""
    if not 0 < cores <= 1:
        raise ValueError(f"a busy loop keeps between 0 and 1 core busy, not {cores}")
    spin = cores * period
    return spin, period - spin


def split_cores(cores: float) -> list[float]:
    """One busy loop per core needed, sharing ``cores`` equally: 0.5 → [0.5], 1.5 → [0.75,
    0.75], 0 → []."""
    if cores < 0:
        raise ValueError(f"busy cores must not be negative, not {cores}")
    if cores == 0:
        return []
    count = math.ceil(cores)
    return [cores / count] * count


def burn(cores: float, *, seconds: float | None = None, period: float = PERIOD_SECONDS) -> None:
    """Keep ``cores`` of one core busy for ``seconds`` (forever when None), or until the parent
    process changes (it died: this one was adopted)."""
    spin, _ = duty_cycle(cores, period)
    parent = os.getppid()
    now = time.monotonic()
    deadline = math.inf if seconds is None else now + seconds
    period_end = now
    while now < deadline and os.getppid() == parent:
        cpu_start = time.process_time()
        while time.process_time() - cpu_start < spin:
            pass
        period_end += period
        now = time.monotonic()
        if period_end > now:
            time.sleep(period_end - now)
            now = time.monotonic()
        else:
            # Behind (preempted while spinning): start the next period now, no burst to catch up.
            period_end = now


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    parts = split_cores(float(argv[0]))
    if not parts:
        return 0
    children: list[int] = []
    for part in parts[1:]:
        pid = os.fork()
        if pid == 0:
            burn(part)  # the child: SIGTERM's default action ends it
            os._exit(0)
        children.append(pid)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        burn(parts[0])
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
