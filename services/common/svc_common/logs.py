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


def iso_time(seconds: float) -> str:
    """``2026-11-28T01:02:03.456Z`` for a ``time.time()`` value."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


class PreformattedFormatter(logging.Formatter):
    """For the access logger, whose messages are complete JSON lines already (see middleware)."""

    def format(self, record: logging.LogRecord) -> str:
        return str(record.msg)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message and any ``extra`` fields."""

    def __init__(self, static: dict[str, str] | None = None) -> None:
        super().__init__()
        self.static = static or {}

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
        for key, value in record.__dict__.items():
            if key not in _STANDARD and (key == "_aws" or not key.startswith("_")):
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, separators=(",", ":"))


def configure_logging(level: str = "INFO") -> None:
    """Send every logger (uvicorn's included) to stdout as JSON lines. Safe to call twice."""
    static = {
        k: v
        for k, v in (
            ("service", os.environ.get("SERVICE_NAME", "")),
            ("environment", os.environ.get("ENVIRONMENT", "")),
        )
        if v
    }
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(static))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    # The access log (with its metrics) is always written, whatever LOG_LEVEL says. Its lines are
    # built whole by the middleware (one per request: the hot path), so they skip the formatter.
    access_handler = logging.StreamHandler(sys.stdout)
    access_handler.setFormatter(PreformattedFormatter())
    access = logging.getLogger(ACCESS_LOGGER)
    access.handlers[:] = [access_handler]
    access.propagate = False
    access.setLevel(logging.INFO)
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
