"""CPU accounting for the load test, from Linux's /proc: how many CPU seconds gunicorn,
PostgreSQL, locust and the rest of the machine used during the measured window.

Latency on a shared 2-core machine depends on what else runs; CPU seconds per request do not
(much), so the report gives both.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        # The command name (field 2) may hold spaces: split after its closing parenthesis.
        return handle.read().rsplit(")", 1)[1].split()


def tree_cpu_seconds(pid: int) -> float:
    """CPU used by ``pid``, its reaped children and its live children (one level deep:
    gunicorn's workers, PostgreSQL's backends)."""
    try:
        fields = _proc_stat(pid)
    except OSError:
        return 0.0
    # After the name: state=0 ppid=1 … utime=11 stime=12 cutime=13 cstime=14.
    ticks = sum(int(value) for value in fields[11:15])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _proc_stat(int(entry.name))
        except OSError:
            continue
        if int(child[1]) == pid:
            ticks += int(child[11]) + int(child[12])
    return ticks / _TICK


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores together."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICK, sum(values) / _TICK


def snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process tree, of this process (locust), and of the
    machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    busy, total = machine_cpu_seconds()
    return {
        **{name: tree_cpu_seconds(pid) for name, pid in pids.items()},
        "locust": usage.ru_utime + usage.ru_stime,
        "machine_busy": busy,
        "machine_total": total,
    }


def difference(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def parse_pids(value: str) -> dict[str, int]:
    """``gunicorn:123,postgres:456`` → {"gunicorn": 123, "postgres": 456}."""
    pairs = (item.split(":", 1) for item in value.split(",") if item)
    return {name: int(pid) for name, pid in pairs}
