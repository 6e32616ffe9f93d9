"""The AWS emulator of every local run: moto's server, applying one request at a time.

    python scripts/emulator.py [-H 127.0.0.1] [-p PORT]

Real AWS applies each API call atomically: a DynamoDB conditional write or TransactWriteItems
either happens whole or not at all, and two callers never see each other half-done. moto's own
``moto_server`` serves every connection on its own thread against backends that take no locks, so
under concurrency it breaks that promise: transactions interleave (stock counted twice), and
parallel EC2 calls from Terraform race on shared dictionaries (a security-group rule reported as a
duplicate of itself, a subnet CIDR conflicting with the subnet just created).

This server keeps moto's threaded HTTP front (keep-alive connections, many clients) and puts one
lock around the application, so each API call runs alone from its first byte to its last, as it
would in AWS. moto is single-core Python either way, so the lock costs almost no throughput. The
local stack, the tests, the benchmarks and the pipeline rehearsal all start the emulator through
this file.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
SCRIPT = Path(__file__).resolve()

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def argv(python: str, port: int, host: str = HOST) -> list[str]:
    """The command line that starts the emulator on ``host:port`` with interpreter ``python``."""
    return [python, str(SCRIPT), "-H", host, "-p", str(port)]


class Serialized:
    """A WSGI middleware that runs ``app`` for one request at a time, body included."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return list(result)  # the whole body is produced while the lock is held
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


def _stop(signum: int, frame: object) -> None:
    sys.exit(0)


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-H", "--host", default=HOST, help="address to bind (default %(default)s)")
    parser.add_argument(
        "-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")), help="port to bind"
    )
    opts = parser.parse_args(args)
    # moto builds some URLs (presigned S3, SQS queue URLs) from MOTO_PORT.
    os.environ.setdefault("MOTO_PORT", str(opts.port))

    from moto.moto_server.werkzeug_app import (  # after MOTO_PORT is set
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    app = Serialized(DomainDispatcherApplication(create_backend_app))
    run_simple(opts.host, opts.port, app, threaded=True, request_handler=MotoRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
