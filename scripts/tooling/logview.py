"""One log line as a person reads it (``make logs``); the files keep the JSON lines.

- a service's access line: ``17:10:19.206 INFO  catalog  GET /catalog/ready 200 44.8 ms  req=3a94f7ae``
- a service's other lines: ``17:10:18.999 INFO  catalog  svc_common.app: service started  table=...``
- Caddy (the edge): ``17:10:21.176 INFO  edge     GET /catalog/ready 200 0.4 ms`` for an access
  line, ``17:10:21.174 WARN  edge     admin: admin endpoint disabled`` otherwise;
- anything else (the emulator's own lines) is shown as it is, without colour codes.

Never shown: the EMF metric block (``_aws`` and its metric fields), query strings, request and
response headers. Times are UTC, as in the files.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Fields of a service line that are shown in their own place or are the metric block.
_SERVICE_FIXED = {"time", "level", "logger", "message", "service", "environment", "color_message", "type"}
_ACCESS_FIXED = {"method", "path", "route", "status", "latency_ms", "request_id"}
_EMF = {"_aws", "Service", "Environment", "Route", "Requests", "Latency", "Errors4xx", "Errors5xx"}
# Caddy: fields that are noise for a person or could carry request data.
_CADDY_SKIP = {"level", "ts", "msg", "logger", "request", "resp_headers", "user_id", "bytes_read"}


def _extras(data: dict[str, Any], skip: set[str]) -> str:
    parts = [
        f"{k}={v}"
        for k, v in data.items()
        if k not in skip and k not in _EMF and isinstance(v, str | int | float | bool) and v != ""
    ]
    return ("  " + " ".join(parts)) if parts else ""


def _service(data: dict[str, Any], name: str) -> str:
    when = str(data.get("time", ""))[11:23]
    level = str(data.get("level", "")).upper()
    if data.get("type") == "access":
        rid = str(data.get("request_id", ""))[-8:]  # ids share a per-process prefix; the tail differs
        text = (
            f"{data.get('method', '')} {data.get('path', '')} {data.get('status', '')} "
            f"{float(data.get('latency_ms', 0)):.1f} ms  req={rid}"
        )
        rest = _extras(data, _SERVICE_FIXED | _ACCESS_FIXED)
    else:
        text = f"{data.get('logger', '')}: {data.get('message', '')}"
        rest = _extras(data, _SERVICE_FIXED)
    return f"{when} {level:<5} {name:<8} {text}{rest}"


def _caddy(data: dict[str, Any], name: str) -> str:
    when = datetime.fromtimestamp(float(data["ts"]), tz=UTC).strftime("%H:%M:%S.%f")[:12]
    level = str(data.get("level", "")).upper()
    request = data.get("request")
    if isinstance(request, dict):
        path = str(request.get("uri", "")).split("?", 1)[0]
        text = (
            f"{request.get('method', '')} {path} {data.get('status', '')} "
            f"{float(data.get('duration', 0)) * 1000:.1f} ms"
        )
        return f"{when} {level:<5} {name:<8} {text}"
    logger = f"{data['logger']}: " if data.get("logger") else ""
    rest = _extras(data, _CADDY_SKIP | {"duration"})
    return f"{when} {level:<5} {name:<8} {logger}{data.get('msg', '')}{rest}"


def human(line: str, name: str) -> str:
    """``line`` from component ``name``'s log, readable; unknown shapes come back unchanged."""
    try:
        data = json.loads(line)
    except ValueError:
        return _ANSI.sub("", line)
    if not isinstance(data, dict):
        return line
    try:
        if "ts" in data and "msg" in data:
            return _caddy(data, name)
        if "time" in data and "message" in data:
            return _service(data, name)
    except (TypeError, ValueError, KeyError, OverflowError):
        return line
    return line
