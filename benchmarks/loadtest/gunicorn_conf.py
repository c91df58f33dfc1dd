"""gunicorn hooks of the load test (``gunicorn -c``; the command line sets everything else): the
CPU time each request type costs the worker.

Each worker adds up, per request type (method and path, ids as ``[id]``) and per second of the
clock (when the request started), the CPU time of the thread that served the request, from
gunicorn's ``pre_request`` to its ``post_request`` hook (the view, the middleware, the templates,
writing the response, closing it); when the worker exits it writes its totals to
LOADTEST_REQUEST_CPU_DIR/<pid>.json. benchmarks/loadtest/run.py adds up the seconds inside the
measured windows (``merge``), so the warm-up (a worker's first page compiles its templates) and
the sign-ins stay out. PostgreSQL's CPU is not in it: benchmarks/loadtest/cpu.py measures that
for the whole window only. Without the variable the hooks do nothing.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

_OUT_DIR = os.environ.get("LOADTEST_REQUEST_CPU_DIR", "")
# A path segment that is a number or a UUID.
_ID = re.compile(r"/(?:\d+|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})(?=/|$)")
# request type → second (time.time(), whole) → [requests, CPU seconds]
_totals: dict[str, dict[int, list[float]]] = {}
_lock = threading.Lock()


def request_type(method: str, path: str) -> str:
    """``GET /children/<uuid>/`` → ``GET /children/[id]/``."""
    return f"{method} {_ID.sub('/[id]', path)}"


def pre_request(worker: Any, req: Any) -> None:
    if _OUT_DIR:
        req.loadtest_started = time.time()
        req.loadtest_cpu_start = time.thread_time()


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    started = getattr(req, "loadtest_cpu_start", None)
    if started is None:
        return
    used = time.thread_time() - started
    key = request_type(req.method, req.path)
    second = int(req.loadtest_started)
    with _lock:
        total = _totals.setdefault(key, {}).setdefault(second, [0, 0.0])
        total[0] += 1
        total[1] += used


def worker_exit(server: Any, worker: Any) -> None:
    if _OUT_DIR and _totals:
        with _lock:
            data = json.dumps(_totals)
        Path(_OUT_DIR, f"{os.getpid()}.json").write_text(data)


def merge(files: list[Path], windows: list[tuple[float, float]]) -> dict[str, tuple[int, float]]:
    """The workers' files added up over the seconds inside ``windows`` (start, end: time.time();
    a second counts when its middle is inside): request type → (requests, CPU seconds)."""
    merged: dict[str, tuple[int, float]] = {}
    for path in files:
        for key, seconds in json.loads(path.read_text()).items():
            for second, (requests, cpu) in seconds.items():
                middle = int(second) + 0.5
                if any(start <= middle < end for start, end in windows):
                    total = merged.get(key, (0, 0.0))
                    merged[key] = (total[0] + requests, total[1] + cpu)
    return merged
