"""A moto server that handles one request at a time: ``python serial_moto.py PORT``.

Real DynamoDB applies each conditional write and transaction atomically. moto's threaded server
does not (its TransactWriteItems deep-copies tables while other threads write them), so tests
that race many writers against one item use this serial emulator: it keeps DynamoDB's atomicity
and still lets the services under test run their requests concurrently.
"""

from __future__ import annotations

import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
