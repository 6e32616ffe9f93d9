"""Running real Terraform in tests: the provider mirror, a private data dir, the emulator's env."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.infra.tfkit import GO_GC_PERCENT
from tests.support.tools import unavailable

MIRROR = Path("/opt/tf-plugins")


def terraform_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a terraform child process that never touches the network or shared dirs."""
    terraform = shutil.which("terraform")
    if terraform is None:
        unavailable("terraform not found on PATH (expected /usr/local/bin/terraform)")
    if not any(MIRROR.glob("*/hashicorp/aws")):
        unavailable(f"the hashicorp/aws provider mirror is missing at {MIRROR}")
    cli_config = tmp / "terraformrc"
    cli_config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n  }}\n}}\n'
    )
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_DATA_DIR": str(tmp / ".terraform"),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "GOGC": GO_GC_PERCENT,  # as every terraform of the tests (tests/infra/tfkit.py)
        **(extra or {}),
    }


def terraform(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 180) -> str:
    """Run terraform; on failure raise with its output so the test log says why."""
    result = subprocess.run(
        ["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"terraform {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout
