"""A WSGI app for tests/config/test_streams.py: a streamed body, without Content-Length like
every streamed response of ours, whose next chunk comes later than the server's timeout."""

import time


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/csv; charset=utf-8")])

    def body():
        yield b"id,name\n" * 1000
        time.sleep(30)  # the server's worker timeout (2 s in the test) ends this first
        yield b"never,sent\n"

    return body()
