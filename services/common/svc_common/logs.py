"""One-line JSON logging to stdout (CloudWatch Logs parses each line as a JSON event)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from svc_common.context import current_request_id

# LogRecord attributes that are not "extra" fields given by the caller.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


ACCESS_LOGGER = "access"
_ACCESS = logging.getLogger(ACCESS_LOGGER)
_access_handler: logging.StreamHandler | None = None  # set by configure_logging()
_FIELDS: dict[str, str] = {}  # service and environment, once the app's settings are read
_fd_stream: object = None  # the access handler's stream whose descriptor _fd is (write_access_line)
_fd: int | None = None
_write = os.write
INFO = logging.INFO


def iso_time(seconds: float) -> str:
    """``2026-11-28T01:02:03.456Z`` for a ``time.time()`` value."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


class PreformattedFormatter(logging.Formatter):
    """For the access logger, whose messages are complete JSON lines already (see middleware)."""

    def format(self, record: logging.LogRecord) -> str:
        return str(record.msg)


def _descriptor(stream: object) -> int | None:
    """The file descriptor under ``stream`` (stdout's, as configured), or None (a StringIO)."""
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None


def write_access_line(line: str) -> None:
    """Write one complete access line (built by svc_common.access_line): the per-request hot path.

    When configure_logging() set the access logger up (its one stream handler, nothing changed
    since), the line goes to that handler's stream under the handler's lock, without the LogRecord
    logging would build around a line that is complete already: when the stream has a file
    descriptor (stdout), as one ``os.write`` of the encoded line after the stream's own buffer is
    flushed (a no-op unless something left text in it: lines stay in order and whole), else through
    the stream's write and flush, as the handler would do. Otherwise (a test's own handlers,
    filters, logging.disable) it goes through logging.
    """
    handler = _access_handler
    handlers = _ACCESS.handlers
    if (
        handler is not None
        and len(handlers) == 1
        and handlers[0] is handler
        and not handler.filters
        and not _ACCESS.filters
        and _ACCESS.isEnabledFor(INFO)
    ):
        global _fd_stream, _fd
        lock = handler.lock
        # acquire()/release() in try/finally: the same as ``with lock`` at half the work (the
        # RLock's __exit__ parses its three arguments).
        lock.acquire()  # type: ignore[union-attr]
        try:
            stream = handler.stream
            if stream is not _fd_stream:  # setStream() since the last line: look again
                _fd_stream, _fd = stream, _descriptor(stream)
            if _fd is None:
                stream.write(line + handler.terminator)
                stream.flush()
                return
            stream.flush()
            data = (line + handler.terminator).encode()  # an access line is ASCII
            written = _write(_fd, data)
            while written < len(data):  # a pipe may take part of a write (a signal came)
                data = data[written:]
                written = _write(_fd, data)
        except (OSError, ValueError):
            handler.handleError(logging.makeLogRecord({"name": ACCESS_LOGGER, "msg": line}))
        finally:
            lock.release()  # type: ignore[union-attr]
        return
    _ACCESS.info(line)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message and any ``extra`` fields."""

    def __init__(self, static: dict[str, str] | None = None) -> None:
        super().__init__()
        # Fields on every line; configure_logging's formatter shares _FIELDS (set_log_fields).
        self.static = _FIELDS if static is None else static

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self.static,
        }
        request_id = current_request_id()
        if request_id:
            doc["request_id"] = request_id
        doc.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD and (key == "_aws" or not key.startswith("_"))
        )
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, separators=(",", ":"))


def set_log_fields(service: str, environment: str) -> None:
    """Name the service and environment on every JSON log line from now on (from its settings)."""
    _FIELDS.clear()
    _FIELDS.update({"service": service, "environment": environment})


def configure_logging(level: str = "INFO") -> None:
    """Send every logger (uvicorn's included) to stdout as JSON lines. Safe to call twice."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    # The access log (with its metrics) is always written, whatever LOG_LEVEL says. Its lines are
    # built whole by the middleware (one per request: the hot path), so they skip the formatter.
    global _access_handler
    access_handler = logging.StreamHandler(sys.stdout)
    access_handler.setFormatter(PreformattedFormatter())
    # One lock for both handlers of stdout: the access line is one os.write beside the stream's
    # buffer, so a long record of the root handler (a traceback over the buffer's size, flushed in
    # pieces) must not be written while an access line goes out, or the two lines interleave.
    access_handler.lock = handler.lock
    _ACCESS.handlers[:] = [access_handler]
    _ACCESS.propagate = False
    _ACCESS.setLevel(logging.INFO)
    _access_handler = access_handler
    # No line shows the caller's file, thread or process: do not collect them for every record
    # (the logging HOWTO's "Optimization" section).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # botocore logs request details at DEBUG; keep it quiet unless explicitly asked for.
    logging.getLogger("botocore").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("urllib3").setLevel(max(root.level, logging.WARNING))
