"""The AWS emulator of every local run: moto's server, applying one request at a time.

    python scripts/emulator.py [-H 127.0.0.1] [-p PORT]

Real AWS applies each API call atomically: a DynamoDB conditional write or TransactWriteItems
either happens whole or not at all, and two callers never see each other half-done. moto's own
``moto_server`` serves every connection on its own thread against backends that take no locks, so
under concurrency it breaks that promise: transactions interleave (stock counted twice). And when
an SDK retries a create whose answer it lost, moto creates again and answers "already exists".

This server keeps moto's threaded HTTP front (many clients at once) and puts one lock around the
application, so each API call runs alone, from the complete request to the complete response, as it
would in AWS. moto is single-core Python either way, so the lock costs almost no throughput. Each
call is logged with its action and timings (stderr). Calls made with an assumed role's credentials
are authorized against that role's policies, and web identity tokens against its trust policy, as
AWS does (iam_enforce.py; ``GET /_emulator/iam`` reports what each role used and was denied).
ECS services run their tasks only when every secret the task injects has a value (ecs_tasks.py);
CloudFront VPC origins exist (cloudfront_vpc_origins.py).
The local stack, the tests, the benchmarks and the workflow proof all start the emulator
through this file.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
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
    """A WSGI middleware that runs ``app`` for one request at a time, and answers SDK retries.

    The request body is read before the lock is taken (a slow client cannot stall the others) and
    the whole response is produced while it is held.

    Retries: every AWS SDK marks its calls with ``amz-sdk-invocation-id`` (the same for all
    attempts of one call) and ``amz-sdk-request: attempt=N``. When attempt N > 1 arrives for a call
    whose earlier attempt already succeeded, the client never saw that answer (a lost connection,
    a timeout): AWS makes such a retry harmless (client tokens, idempotent creates), moto would run
    the create twice and answer "already exists". Here the retry gets the earlier answer again,
    and the log says so.

    Each call is logged on one line: method, path, the API action (``Action=`` of query-protocol
    calls, ``X-Amz-Target`` of JSON ones), attempt, status, time waiting for the lock and in moto.
    """

    REMEMBERED = 4096  # successful answers kept for retries (the most recent calls)

    def __init__(self, app: WsgiApp, log: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.log = log
        self.answers: OrderedDict[str, tuple[str, list[tuple[str, str]], list[bytes]]] = OrderedDict()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "")
        attempt = _attempt(environ.get("HTTP_AMZ_SDK_REQUEST", ""))
        answer: list[Any] = ["-", []]

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            answer[0], answer[1] = status, list(headers)
            return start_response(status, headers, exc_info)

        arrived = time.perf_counter()
        with self.lock:
            entered = time.perf_counter()
            earlier = self.answers.get(invocation) if invocation and attempt > 1 else None
            if earlier is not None:
                status, headers, chunks = earlier
                start_response(status, headers)
                answer[0] = status
            else:
                result = self.app(environ, recording_start_response)
                try:
                    chunks = list(result)  # the whole body is produced while the lock is held
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
                if (
                    invocation
                    and str(answer[0]).startswith("2")
                    and environ.get("REQUEST_METHOD") not in ("GET", "HEAD")  # reads can run again
                    and sum(map(len, chunks)) <= 1_000_000
                ):
                    self.answers[invocation] = (answer[0], answer[1], chunks)
                    if len(self.answers) > self.REMEMBERED:
                        self.answers.popitem(last=False)
            done = time.perf_counter()
        if self.log is not None:
            replayed = " (retry of a call that had succeeded: its answer repeated)" if earlier else ""
            self.log(
                f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')} "
                f"{_action(environ, body)} attempt {attempt} -> {str(answer[0]).split(' ', 1)[0]}{replayed} "
                f"wait {(entered - arrived) * 1000:.0f} ms, run {(done - entered) * 1000:.0f} ms"
            )
        return chunks


def _attempt(header: str) -> int:
    """``attempt=2; max=3`` -> 2 (1 when absent or malformed)."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "attempt" and value.isdigit():
            return int(value)
    return 1


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream.read()  # chunked: werkzeug ends the stream at the last chunk
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return stream.read(length) if length > 0 else b""


def _action(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target)
    if body.startswith(b"Action=") or b"&Action=" in body[:4096]:
        for part in body[:4096].split(b"&"):
            if part.startswith(b"Action="):
                return part[7:].decode("ascii", "replace")
    return "-"


def _say(line: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {line}\n")
    sys.stderr.flush()


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

    class Handler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """Serialized logs each call with its action and timings instead."""

        def connection_dropped(self, error: BaseException, environ: dict[str, Any] | None = None) -> None:
            path = (environ or {}).get("PATH_INFO", "?")
            _say(f"client dropped the connection during {path}: {type(error).__name__}: {error}")

    import cloudfront_vpc_origins
    import ecs_tasks
    import iam_enforce
    import moto_fidelity

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    iam_enforce.install(log=_say)  # IAM enforced for assumed-role credentials (iam_enforce.py)
    moto_fidelity.install()  # moto answers corrected where they differ from AWS (moto_fidelity.py)
    ecs_tasks.install()  # services start tasks only when their secrets have values (ecs_tasks.py)
    cloudfront_vpc_origins.install()  # CloudFront VPC origins, absent from moto (cloudfront_vpc_origins.py)
    app = Serialized(iam_enforce.wrap(DomainDispatcherApplication(create_backend_app)), log=_say)
    run_simple(opts.host, opts.port, app, threaded=True, request_handler=Handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
