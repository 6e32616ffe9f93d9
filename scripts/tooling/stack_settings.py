"""The local stack's settings: ports and state folder from the environment, checked once."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import manifests

from tooling import edge_rules
from tooling.net import HOST

ROOT = manifests.REPO_ROOT
ENVIRONMENT = "local"
REGION = "eu-west-1"
# Emulator credentials: moto accepts anything; these are not secrets and reach no real AWS.
_EMULATOR_CREDENTIAL = "local"
EMULATOR_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": _EMULATOR_CREDENTIAL,
    "AWS_SECRET_ACCESS_KEY": _EMULATOR_CREDENTIAL,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
DEFAULT_EDGE_PORT = 8080
DEFAULT_AWS_PORT = 4566
# The only variables children inherit from the caller's environment.
BASE_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE")


class StackError(Exception):
    """Something the person must act on; printed as one line, exit 1."""


def base_env() -> dict[str, str]:
    """A minimal environment for children: no real AWS credentials or profiles leak in."""
    return {k: os.environ[k] for k in BASE_ENV_KEYS if k in os.environ}


def port_variable(name: str) -> str:
    """The environment variable that moves component ``name`` to another port."""
    fixed = {"edge": "LOCAL_EDGE_PORT", "moto": "LOCAL_AWS_PORT"}
    return fixed.get(name, f"LOCAL_PORT_{name.upper().replace('-', '_')}")


def _port_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise StackError(f"{name} must be a port number between 1024 and 65535, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    state: Path
    edge_port: int
    aws_port: int
    service_ports: dict[str, int]
    max_body: str = "1MB"
    read_timeout: str = edge_rules.READ_BODY_TIMEOUT
    python: str = sys.executable
    caddy: str = field(default_factory=lambda: str(Path(sys.executable).with_name("caddy")))

    @classmethod
    def from_env(cls) -> Settings:
        state = Path(os.environ.get("LOCAL_STATE_DIR", "") or ROOT / ".local").resolve()
        ports = {m.name: _port_env(port_variable(m.name), m.port) for m in manifests.load_all()}
        settings = cls(
            state=state,
            edge_port=_port_env("LOCAL_EDGE_PORT", DEFAULT_EDGE_PORT),
            aws_port=_port_env("LOCAL_AWS_PORT", DEFAULT_AWS_PORT),
            service_ports=ports,
            max_body=os.environ.get("LOCAL_EDGE_MAX_BODY", "") or "1MB",
            read_timeout=os.environ.get("LOCAL_EDGE_READ_TIMEOUT", "") or edge_rules.READ_BODY_TIMEOUT,
        )
        if not edge_rules.valid_timeout(settings.read_timeout):
            raise StackError(f"LOCAL_EDGE_READ_TIMEOUT must be seconds (30s), got {settings.read_timeout!r}")
        all_ports = [settings.edge_port, settings.aws_port, *ports.values()]
        if len(set(all_ports)) != len(all_ports):
            raise StackError(f"two parts of the stack were given the same port: {all_ports}")
        return settings

    @property
    def aws_url(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def edge_url(self) -> str:
        return f"http://{HOST}:{self.edge_port}"

    @property
    def secrets_file(self) -> Path:
        return self.state / "secrets.env"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    def aws_env(self) -> dict[str, str]:
        return {**EMULATOR_AWS_ENV, "AWS_ENDPOINT_URL": self.aws_url}

    def rel(self, path: Path) -> str:
        """A path as a person would type it from the repository root."""
        with contextlib.suppress(ValueError):
            return str(path.relative_to(Path.cwd()))
        return str(path)
