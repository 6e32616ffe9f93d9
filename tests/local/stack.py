"""A local stack for one test module: `scripts/localstack.py up` on free ports with its own state dir.

Never uses the default ports, so it does not clash with a developer's `make up`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import manifests

from tests.support.procs import free_port
from tests.support.tools import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "localstack.py"


@dataclass
class LocalStack:
    state: Path
    env: dict[str, str]

    @classmethod
    def on_free_ports(cls, state: Path) -> LocalStack:
        ports: set[int] = set()
        while len(ports) < 2 + len(manifests.load_all()):
            ports.add(free_port())
        it = iter(sorted(ports))
        env = {
            "LOCAL_STATE_DIR": str(state),
            "LOCAL_EDGE_PORT": str(next(it)),
            "LOCAL_AWS_PORT": str(next(it)),
            **{f"LOCAL_PORT_{m.name.upper().replace('-', '_')}": str(next(it)) for m in manifests.load_all()},
        }
        return cls(state, env)

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.env['LOCAL_EDGE_PORT']}"

    def port(self, service: str) -> int:
        return int(self.env[f"LOCAL_PORT_{service.upper().replace('-', '_')}"])

    def run(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 150):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")}
        env.update(self.env)
        env.update(extra_env or {})
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def values(self) -> dict[str, str]:
        """The generated secret values (KEY=VALUE lines of secrets.env)."""
        out = {}
        for line in (self.state / "secrets.env").read_text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                out[key] = value
        return out

    def pids(self) -> dict[str, int]:
        return {
            p.stem: json.loads(p.read_text())["pid"] for p in sorted((self.state / "pids").glob("*.json"))
        }

    def down_and_leftovers(self) -> tuple[subprocess.CompletedProcess, list[str]]:
        """`down`, then every recorded process that is still alive (must be none)."""
        pids = self.pids()
        result = self.run("down")
        return result, [f"{name} (pid {pid})" for name, pid in pids.items() if alive(pid)]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
