"""What the local edge (Caddy) enforces beyond routing, as Caddyfile lines for tooling/edge_config.py.

The same rules hold in AWS, where CloudFront and the ALB are the edge:
- internal paths (manifest ``internal_paths``, e.g. catalog's reservations API) answer 404 at the
  edge: ALB listener rules in infra/stack/main.tf; services call each other inside the network;
- errors the edge produces itself (static 404, 413, 502, 503, 504) have the services' JSON error
  shape ``{"detail": "..."}``;
- slow clients are cut off: a request head must arrive within 10 s (the edge closes the
  connection); a body that stalls gets the services' JSON 408 after 10 s without data
  (svc_common.middleware, BODY_TIMEOUT_SECONDS), and the edge itself gives up on any request
  not received within 30 s (LOCAL_EDGE_READ_TIMEOUT; a JSON 504 for a proxied one);
- the access log holds no query string (nor credential headers: edge_config.REDACTED_HEADERS).
"""

from __future__ import annotations

import re

import manifests

# Client timeouts of the edge (Caddy's server timeouts); CloudFront and the ALB have their own.
READ_HEADER_TIMEOUT = "10s"
READ_BODY_TIMEOUT = "30s"
WRITE_TIMEOUT = "60s"
IDLE_TIMEOUT = "2m"
NOT_FOUND_BODY = '{"detail":"Not Found"}'
ERROR_BODY = '{"detail":"{err.status_code} {err.status_text}"}'
# Query strings may carry anything a client put there: never in the access log.
_QUERY = r"\?.*$"


def internal_path_regexp(paths: list[str]) -> str:
    """One anchored regular expression for manifest paths whose '*' matches any text (ALB syntax)."""
    parts = [re.escape(p).replace(r"\*", ".*") for p in paths]
    return "^(?:" + "|".join(parts) + ")$"


def _seconds(value: str) -> int:
    return int(value.removesuffix("s"))


def valid_timeout(value: str) -> bool:
    return re.fullmatch(r"[1-9][0-9]{0,3}s", value) is not None


def global_options(read_timeout: str = READ_BODY_TIMEOUT) -> list[str]:
    """Server timeouts: ``read_timeout`` bounds the whole request (the head: at most 10 s)."""
    return [
        "\tservers {",
        "\t\ttimeouts {",
        f"\t\t\tread_header {min(READ_HEADER_TIMEOUT, read_timeout, key=_seconds)}",
        f"\t\t\tread_body {read_timeout}",
        f"\t\t\twrite {WRITE_TIMEOUT}",
        f"\t\t\tidle {IDLE_TIMEOUT}",
        "\t\t}",
        "\t}",
    ]


def log_filters() -> list[str]:
    return [f'\t\t\t{field} regexp "{_QUERY}" ""' for field in ("request>uri", "request>headers>Referer")]


def internal_routes(all_manifests: list[manifests.Manifest]) -> list[str]:
    """Handlers answering 404 for every service's internal paths; placed before the service routes."""
    out: list[str] = []
    for m in all_manifests:
        if not m.internal_paths:
            continue
        name = f"{m.name}_internal"
        out += [
            f"\t@{name} path_regexp {name} {internal_path_regexp(m.internal_paths)}",
            f"\thandle @{name} {{",
            '\t\theader Content-Type "application/json"',
            f"\t\trespond `{NOT_FOUND_BODY}` 404",
            "\t}",
        ]
    return out


def error_response() -> list[str]:
    return ['\t\theader Content-Type "application/json"', f"\t\trespond `{ERROR_BODY}`"]
