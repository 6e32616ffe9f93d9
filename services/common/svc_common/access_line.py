"""The access-log + CloudWatch EMF line of one request, built with the least work per request.

Every request our services answer (but a liveness probe answered OK) writes one JSON line; the
line is the hot path of the middleware. Most of it never changes in a process (service,
environment, logger, the EMF declaration), so :class:`AccessLine` encodes those parts once, and per
request only encodes the request's own values with the C string encoder of the standard ``json``
module. The result is the very line ``json.dumps(doc, separators=(",", ":"))`` of the same fields
in the same order would give (ASCII-only, same escapes, same float text): tests compare both.

Field meanings: see svc_common.middleware. CloudWatch's EMF specification:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import time
from json.encoder import encode_basestring_ascii as _str  # type: ignore[attr-defined]

from svc_common.logs import ACCESS_LOGGER

METRIC_NAMES = ("Requests", "Latency", "Errors4xx", "Errors5xx")
DIMENSIONS = [["Service", "Environment"], ["Service", "Environment", "Route"]]
# The milliseconds of the "time" field with what follows them, looked up instead of formatted; and
# the same three digits ending the EMF Timestamp (epoch milliseconds: the second's text, then these).
_MILLIS = tuple(f'{ms:03d}Z"' for ms in range(1000))
_MS3 = tuple(f"{ms:03d}" for ms in range(1000))
# Hundredths of a millisecond as the text json.dumps gives the float (repr's shortest round trip:
# 12.30 -> "12.3", 12.00 -> "12.0"), kept per value for the latencies under 100 ms seen so far.
_CENTS = tuple(f"{c:02d}".rstrip("0") or "0" for c in range(100))
_LATENCY_KEPT = 10_000  # hundredths of a millisecond: 100 ms; at most as many short strings (~1 MB)
# Encoded line parts kept per (method, route, status): a service has a few dozen routes, a few statuses.
_PARTS_KEPT = 4096


def latency_text(centis: int) -> str:
    """``json.dumps(centis / 100)`` for a latency in hundredths of a millisecond, without the float.

    For 0 <= centis < 10**15 the decimal "q.rr" (trailing zero dropped, at least one digit after
    the point) is the shortest text that reads back as the float nearest centis / 100 (a double
    holds 15 significant decimal digits exactly), and repr() writes no exponent below 1e16: so it
    is repr's text. Beyond that (never a latency), repr itself.
    """
    if 0 <= centis < 10**15:
        return f"{centis // 100}.{_CENTS[centis % 100]}"
    return repr(centis / 100)


def metrics_declaration(namespace: str) -> dict[str, object]:
    """The ``_aws`` block of every line but its Timestamp."""
    return {
        "CloudWatchMetrics": [
            {
                "Namespace": namespace,
                "Dimensions": DIMENSIONS,
                "Metrics": [
                    {"Name": name, "Unit": "Milliseconds" if name == "Latency" else "Count"}
                    for name in METRIC_NAMES
                ],
            }
        ]
    }


class AccessLine:
    """Renders the access line of a request; the parts that never change are encoded once."""

    def __init__(self, service: str, environment: str, namespace: str) -> None:
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        svc, env = _str(service), _str(environment)
        self._head = f',"level":"INFO","logger":{_str(ACCESS_LOGGER)},"message":"request","service":{svc},'
        self._head += f'"environment":{env},"request_id":"'
        self._dims = f',"Service":{svc},"Environment":{env},"Route":'
        self._tail = f",{dumps(metrics_declaration(namespace))[1:-1]}}}}}"
        self._second_ms = -1  # the epoch millisecond where the second of _second_text begins
        self._second_text = ""
        self._second_digits = ""  # that second as the first digits of the EMF Timestamp
        self._latency: dict[int, str] = {}
        # (method, route template, status) -> the encoded text around the request's own values
        self._parts: dict[tuple[str, str | None, int], tuple[str, str, str, str]] = {}

    def _encode_parts(self, method: str, route_path: str | None, status: int) -> tuple[str, str, str, str]:
        # Unmatched requests share one route name: random URLs never create unbounded metric
        # dimensions (nor entries here).
        route = _str(f"{method} {route_path}") if route_path else '"unmatched"'
        parts = (
            f'","type":"access","method":{_str(method)},"path":',
            f',"route":{route},"status":{status},"latency_ms":',
            f'{self._dims}{route},"Requests":1,"Latency":',
            f',"Errors4xx":{1 if 400 <= status < 500 else 0},"Errors5xx":{1 if status >= 500 else 0},'
            '"_aws":{"Timestamp":',
        )
        if len(self._parts) < _PARTS_KEPT:  # unknown verbs and statuses cannot fill the memory
            self._parts[(method, route_path, status)] = parts
        return parts

    def render(
        self,
        method: str,
        path: str,
        route_path: str | None,
        status: int,
        latency_centis: int,
        request_id: str,
        now_ms: int,
    ) -> str:
        """The line; ``route_path`` is the matched route's template (None: unmatched).

        ``latency_centis`` is the latency in hundredths of a millisecond (written as the float
        latency_centis / 100 is by json.dumps) and ``now_ms`` the time in epoch milliseconds.
        ``request_id`` is one svc_common.context.accept_request_id returned: its characters
        ([A-Za-z0-9._:-]) need no JSON escaping, so it is written as it is.
        """
        parts = self._parts.get((method, route_path, status)) or self._encode_parts(
            method, route_path, status
        )
        ms = now_ms - self._second_ms
        if not 0 <= ms < 1000:  # another second: svc_common.logs.iso_time, the seconds formatted once
            ms = self._new_second(now_ms)
        latency = self._latency.get(latency_centis) or self._keep_latency(latency_centis)
        return (
            f"{self._second_text}{_MILLIS[ms]}{self._head}{request_id}{parts[0]}"
            f"{_str(path)}{parts[1]}{latency}{parts[2]}{latency}{parts[3]}{self._second_digits}{_MS3[ms]}"
            f"{self._tail}"
        )

    def _new_second(self, now_ms: int) -> int:
        second, ms = divmod(now_ms, 1000)
        self._second_text = f'{{"time":"{time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))}.'
        self._second_digits = str(second)
        self._second_ms = now_ms - ms
        return ms

    def _keep_latency(self, centis: int) -> str:
        text = latency_text(centis)
        if 0 <= centis < _LATENCY_KEPT:  # at most _LATENCY_KEPT entries: the memory stays bounded
            self._latency[centis] = text
        return text
