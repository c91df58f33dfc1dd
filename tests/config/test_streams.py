"""A streamed response that cannot finish ends in an error the client sees, never a 200 with a
cut file (issue 20, point 6). Large exports are background jobs now (dashboards.jobs); what still
streams (the audit log's CSV) has no Content-Length, so gunicorn frames it in chunks, and a body
cut by the worker timeout lacks the last chunk: the client's read fails instead of ending."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn_slow_stream():
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "tests.config.slow_stream_app:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "2",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_a_stream_cut_by_the_worker_timeout_is_an_error_for_the_client(gunicorn_slow_stream):
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn_slow_stream, timeout=60)
    connection.request("GET", "/")
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Transfer-Encoding") == "chunked"
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    assert cut.value.partial.startswith(b"id,name\n")  # what came, and the error that it is all


def test_our_streamed_responses_carry_no_length_so_they_are_chunked(client_for, auditor):
    response = client_for(auditor).get("/audit/export.csv", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200 and response.streaming
    assert not response.has_header("Content-Length")
