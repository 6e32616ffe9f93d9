"""What every rehearsal stage shares: where its state lives, the emulator's environment, commands.

The processes (emulator, edge) are supervised by tooling/supervisor.py with pid records in
.local/pipeline/pids/; waiting and free ports come from tooling/net.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

import boto3
import emulator
import manifests
from tooling.net import HOST, ProcessExitedError, wait_http
from tooling.stack_settings import Settings
from tooling.supervisor import Processes

ROOT = manifests.REPO_ROOT
STATE_DIR = ROOT / ".local" / "pipeline"
STATE_FILE = STATE_DIR / "state.json"
TIMINGS_FILE = STATE_DIR / "timings.json"
# The make targets' own state (Terraform data dir, plan files, plan-out) kept apart from a
# developer's .local/terraform, so a rehearsal never shares a plan or a .terraform folder.
MAKE_STATE = STATE_DIR / "make"
TF = f"STATE={MAKE_STATE}"
ENV = "local"
REGION = "eu-west-1"
IMAGES_JSON = STATE_DIR / "images.json"
# From inside a slirp4netns container with allow_host_loopback, the host's 127.0.0.1 is here.
HOST_FROM_CONTAINER = "10.0.2.2"
CONTAINER_NETWORK = "slirp4netns:allow_host_loopback=true"
# The emulator accepts any credentials; these reach no real AWS.
_FAKE = "testing"
EMULATOR = str(emulator.SCRIPT)  # what the emulator's command line names
EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": _FAKE,
    "AWS_SECRET_ACCESS_KEY": _FAKE,
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class StageError(Exception):
    """A stage failed; the message is one line a person can act on."""


def load_state() -> dict:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def save_state(state: dict) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")


def emulator_env(state: dict) -> dict[str, str]:
    if "moto_port" not in state:
        raise StageError("the emulator is not running: run `make rehearsal-emulator` first")
    return {**os.environ, **EMULATOR_ENV, "AWS_ENDPOINT_URL": f"http://{HOST}:{state['moto_port']}"}


def processes(state: dict) -> Processes:
    """The rehearsal's supervised processes: pid records in pids/, logs in logs/ under STATE_DIR."""
    settings = Settings(
        state=STATE_DIR,
        edge_port=state.get("edge_port", 0),
        aws_port=state.get("moto_port", 0),
        service_ports=state.get("service_ports", {}),
    )
    return Processes(settings)


def commit() -> str:
    result = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "0" * 40


def run(argv: list[str], env: dict[str, str] | None = None, what: str | None = None) -> None:
    """Run a command with its output streaming to the console; fail the stage if it fails."""
    print(f"$ {' '.join(argv)}", flush=True)
    result = subprocess.run(argv, cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise StageError(f"{what or ' '.join(argv[:3])} failed (exit {result.returncode})")


def make(*targets: str, env: dict[str, str] | None = None) -> None:
    run(["make", *targets], env=env, what=f"make {' '.join(targets)}")


def wait_ready(url: str, timeout: float, what: str) -> None:
    """tooling.net.wait_http, failing the stage with one line."""
    try:
        wait_http(url, timeout=timeout)
    except (TimeoutError, ProcessExitedError) as exc:
        raise StageError(f"{what}: {exc}") from None


def clients(env: dict[str, str]) -> Callable[[str], Any]:
    session = boto3.session.Session(aws_access_key_id=_FAKE, aws_secret_access_key=_FAKE, region_name=REGION)
    url = env["AWS_ENDPOINT_URL"]
    return lambda service: session.client(service, endpoint_url=url)
