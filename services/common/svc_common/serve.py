"""Run a service: ``python -m svc_common.serve [<package>.main:create_app]``.

The argument (or APP when there is none: the container images set APP from the service manifest,
so their exec-form entrypoint needs no shell) names the app *factory*: uvicorn calls it once, at
start (``factory=True``), so importing a service's modules needs no environment.

Reads HOST (default 0.0.0.0), PORT (required), LOG_LEVEL (default INFO) and
SHUTDOWN_GRACE_SECONDS (default 25) from the environment.

Shutdown contract (ECS sends SIGTERM, then SIGKILL after its stop timeout): on SIGTERM or SIGINT
the server stops accepting connections at once, lets in-flight requests finish, cancels whatever
is still running when the grace period is nearly over, runs the application's shutdown hooks and
exits with status 0, all within SHUTDOWN_GRACE_SECONDS.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType
from typing import Any

import uvicorn
from pydantic import ValidationError
from uvicorn.importer import ImportFromStringError, import_from_string

from svc_common.logs import configure_logging

# Time kept back from the grace period for the application's shutdown hooks and process exit.
_EXIT_MARGIN_SECONDS = 1.0
_LOGGER = logging.getLogger("svc_common.serve")
# Containers listen on all interfaces (the task network is private; the load balancer is the entry).
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 # nosec B104


class ServeError(ValueError):
    """A start-up setting is missing or invalid."""


def _env_float(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ServeError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < minimum:
        raise ServeError(f"{name} must be >= {minimum}, got {raw!r}")
    return value


def _port() -> int:
    raw = os.environ.get("PORT", "").strip()
    if not raw:
        raise ServeError("PORT is not set (the container port from the service manifest)")
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ServeError(f"PORT must be an integer between 1 and 65535, got {raw!r}")
    return int(raw)


def load_config(target: str, options: dict[str, Any]) -> uvicorn.Config:
    """uvicorn's config for the app factory ``target`` (``<module>:<factory>``), loaded now: the
    factory has been called, and a configuration problem is one ServeError line instead of a
    traceback. Settings errors name the variables and the rule they break, never the values
    (secrets)."""
    try:
        factory = import_from_string(target)
    except (ImportFromStringError, ModuleNotFoundError) as exc:
        raise ServeError(f"cannot load {target}: {exc}") from None
    if not callable(factory):
        raise ServeError(f"cannot load {target}: not an app factory (a function returning the app)")
    config = uvicorn.Config(target, factory=True, **options)
    try:
        config.load()  # imports the target again (cached) and calls the factory
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ServeError(f"invalid environment for {target}: {problems}") from None
    return config


def server_options() -> dict[str, Any]:
    """uvicorn options from the environment (ServeError when a variable is missing or invalid)."""
    grace = _env_float("SHUTDOWN_GRACE_SECONDS", 25.0, minimum=1.0)
    return {
        "host": os.environ.get("HOST") or ALL_INTERFACES,
        "port": _port(),
        "log_config": None,  # our JSON logging (configured in main) handles uvicorn's loggers too
        "access_log": False,  # the access log is one JSON line per request from our middleware
        "server_header": False,
        "proxy_headers": True,
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        # Above the load balancer's 60 s idle timeout, so the balancer closes idle connections first.
        "timeout_keep_alive": int(_env_float("KEEP_ALIVE_SECONDS", 75.0, minimum=1.0)),
        "timeout_graceful_shutdown": max(grace - _EXIT_MARGIN_SECONDS, 0.5),
        "lifespan": "on",
    }


def _quiet_exit(signum: int, frame: FrameType | None) -> None:
    """Handler left in place after uvicorn's graceful shutdown.

    uvicorn re-raises the signal it handled once it has shut down; without this the process would
    die of SIGTERM (status 143) instead of exiting 0 after a clean shutdown.
    """
    _LOGGER.info("shutdown complete", extra={"signal": signal.Signals(signum).name})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a storefront service with uvicorn.")
    parser.add_argument(
        "app", nargs="?", default=os.environ.get("APP"), help="ASGI app import string (default: $APP)"
    )
    args = parser.parse_args(argv)
    if not args.app:
        print("serve: no app given: pass <package>.main:create_app or set APP", file=sys.stderr)
        return 2
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        config = load_config(args.app, server_options())
    except ServeError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _quiet_exit)
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        _LOGGER.error("server did not start")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
