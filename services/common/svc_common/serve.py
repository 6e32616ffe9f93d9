"""Run a service: ``python -m svc_common.serve [<package>.main:create_app]``.

The argument (or APP when there is none: the container images set APP from the service manifest,
so their exec-form entrypoint needs no shell) names the app *factory*: uvicorn calls it once, at
start (``factory=True``), so importing a service's modules needs no environment.

Its settings (:class:`ServeSettings`, read once at start): APP, HOST (default 0.0.0.0), PORT
(required), LOG_LEVEL (default INFO), FORWARDED_ALLOW_IPS (default 127.0.0.1),
SHUTDOWN_GRACE_SECONDS (default 25) and KEEP_ALIVE_SECONDS (default 75).

Shutdown contract (ECS sends SIGTERM, then SIGKILL after its stop timeout): on SIGTERM or SIGINT
the server stops accepting connections at once, lets in-flight requests finish, cancels whatever
is still running when the grace period is nearly over, runs the application's shutdown hooks and
exits with status 0, all within SHUTDOWN_GRACE_SECONDS.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType
from typing import Any

import uvicorn
from pydantic import ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict
from uvicorn.importer import ImportFromStringError, import_from_string
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from svc_common.logs import configure_logging
from svc_common.wire import coalescing

# Time kept back from the grace period for the application's shutdown hooks and process exit.
_EXIT_MARGIN_SECONDS = 1.0
_LOGGER = logging.getLogger("svc_common.serve")
# Containers listen on all interfaces (the task network is private; the load balancer is the entry).
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 # nosec B104


class ServeError(ValueError):
    """A start-up setting is missing or invalid."""


_PORT_MISSING = "PORT is not set (the container port from the service manifest)"


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("serve_setting", message)


def _seconds(name: str, raw: object, default: float, minimum: float) -> float:
    text = str(raw).strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise _problem(f"{name} must be a number of seconds") from None
    if value < minimum:
        raise _problem(f"{name} must be >= {minimum}")
    return value


class ServeSettings(BaseSettings):
    """Everything the process runner reads from the environment, read once, before any app exists.

    (The app's own settings are the service's ServiceSettings subclass, read by its factory; the
    container health check, svc_common.healthcheck, reads PORT and HEALTH_PATH itself.)
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=False)

    app: str = ""  # the app factory when none is given on the command line
    host: str = ALL_INTERFACES
    port: int
    log_level: str = "INFO"
    forwarded_allow_ips: str = "127.0.0.1"
    shutdown_grace_seconds: float = 25.0
    # Above the load balancer's 60 s idle timeout, so the balancer closes idle connections first.
    keep_alive_seconds: float = 75.0

    @field_validator("host", mode="before")
    @classmethod
    def _host(cls, raw: object) -> object:
        return raw or ALL_INTERFACES

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, raw: object) -> int:
        text = str(raw).strip()
        if not text:
            raise _problem(_PORT_MISSING)
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise _problem("PORT must be an integer between 1 and 65535")
        return int(text)

    @field_validator("shutdown_grace_seconds", mode="before")
    @classmethod
    def _grace(cls, raw: object) -> float:
        return _seconds("SHUTDOWN_GRACE_SECONDS", raw, 25.0, minimum=1.0)

    @field_validator("keep_alive_seconds", mode="before")
    @classmethod
    def _keep_alive(cls, raw: object) -> float:
        return _seconds("KEEP_ALIVE_SECONDS", raw, 75.0, minimum=1.0)

    @classmethod
    def from_env(cls) -> ServeSettings:
        """The settings, or one ServeError line naming each bad variable (never its value)."""
        try:
            return cls()  # type: ignore[call-arg]  # PORT comes from the environment
        except ValidationError as exc:
            raise ServeError("; ".join(_describe(err) for err in exc.errors())) from None


def _describe(err: Any) -> str:
    name = ".".join(str(p) for p in err["loc"]).upper()
    if err["type"] == "serve_setting":
        return str(err["msg"])
    if err["type"] == "missing":
        return _PORT_MISSING if name == "PORT" else f"{name} is not set"
    return f"{name}: {err['msg']}"


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


def server_options(settings: ServeSettings) -> dict[str, Any]:
    """uvicorn options from the process's settings."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,  # our JSON logging (configured in main) handles uvicorn's loggers too
        "access_log": False,  # the access log is one JSON line per request from our middleware
        "server_header": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_keep_alive": int(settings.keep_alive_seconds),
        "timeout_graceful_shutdown": max(settings.shutdown_grace_seconds - _EXIT_MARGIN_SECONDS, 0.5),
        "lifespan": "on",
        # Each response leaves in one write: a replica killed mid-response never leaves the edge
        # with headers and no body, which it could neither retry nor complete (svc_common.wire).
        "http": coalescing(AutoHTTPProtocol),
    }


def _quiet_exit(signum: int, frame: FrameType | None) -> None:
    """Handler left in place after uvicorn's graceful shutdown.

    uvicorn re-raises the signal it handled once it has shut down; without this the process would
    die of SIGTERM (status 143) instead of exiting 0 after a clean shutdown.
    """
    _LOGGER.info("shutdown complete", extra={"signal": signal.Signals(signum).name})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a storefront service with uvicorn.")
    parser.add_argument("app", nargs="?", help="ASGI app factory import string (default: $APP)")
    args = parser.parse_args(argv)
    try:
        settings = ServeSettings.from_env()
    except ServeError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    target = args.app or settings.app
    if not target:
        print("serve: no app given: pass <package>.main:create_app or set APP", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        config = load_config(target, server_options(settings))
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
