"""Running Terraform from tests: the mirror CLI config, a private data dir, a private copy of the tree.

Each test works on its own copy of infra/ and services/ (the stack reads the manifests by relative
path), so parallel workers never share a .terraform folder or a lock file, and nothing is written
into the source tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.tools import REPO_ROOT, unavailable

MIRROR = Path("/opt/tf-plugins")
CLI_CONFIG = REPO_ROOT / "infra" / "mirror.tfrc"


# Go's garbage pacing for terraform and the provider it starts: the Makefile's value (mk/30-infra.mk
# says why), so the tests' own terraform runs as `make` runs it.
def _makefile_gogc() -> str:
    found = re.search(r"^export GOGC \?= (\d+)$", (REPO_ROOT / "mk" / "30-infra.mk").read_text(), re.M)
    if found is None:
        raise RuntimeError("mk/30-infra.mk no longer sets `export GOGC ?= <percent>`")
    return found[1]


GO_GC_PERCENT = _makefile_gogc()


def terraform_binary() -> str:
    """Path of terraform, or stop the test loudly when it or the provider mirror is missing."""
    path = shutil.which("terraform")
    if path is None:
        unavailable("terraform not found on PATH (expected /usr/local/bin/terraform 1.11.x)")
    if not MIRROR.is_dir():
        unavailable(f"provider mirror {MIRROR} missing: terraform cannot install hashicorp/aws offline")
    return path  # type: ignore[return-value]


def copy_tree(dest: Path) -> Path:
    """Copy infra/, the services/ manifests and web/security-headers.json to ``dest`` (what the
    stack reads: without the headers file, prod renders the module's default headers policy);
    return the copied infra folder."""
    shutil.copytree(
        REPO_ROOT / "infra",
        dest / "infra",
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "tfplan*"),
    )
    # The files outside infra/ the stack reads: the manifests and the site's security headers.
    read_by_stack = [REPO_ROOT / "web" / "security-headers.json", REPO_ROOT / "services" / "project.yaml"]
    for manifest in [*read_by_stack, *REPO_ROOT.glob("services/*/service.yaml")]:
        if not manifest.exists():
            continue
        target = dest / manifest.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(manifest, target)
    return dest / "infra"


def all_resources(module: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource of a `terraform show -json` module (its child modules' included)."""
    found = list(module.get("resources", []))
    for child in module.get("child_modules", []):
        found += all_resources(child)
    return found


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> object:
        return json.loads(self.stdout)


@dataclass
class Terraform:
    """terraform in one working directory with its own data dir and environment."""

    workdir: Path
    data_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.binary = terraform_binary()

    def environ(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        return {
            **base,
            "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
            "TF_DATA_DIR": str(self.data_dir),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "GOGC": GO_GC_PERCENT,
            **self.env,
        }

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> Result:
        if args[:1] == ("init",) and not any(a.startswith("-lockfile") for a in args):
            # As `make`: the committed lock file decides the provider build; init never rewrites it.
            args = ("init", "-lockfile=readonly", *args[1:])
        argv = [self.binary, *args]
        started = time.monotonic()
        proc = subprocess.run(
            argv,
            cwd=self.workdir,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Result(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} failed ({proc.returncode}):\n{result.output[-6000:]}"
            )
        return result


def bootstrap_backend(
    env_name: str, backend_file: Path, environ: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """scripts/bootstrap_backend.py for ``env_name`` (state bucket + lock table), writing ``backend_file``."""
    return subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "bootstrap_backend.py"),
            "--env",
            env_name,
            "--backend-file",
            str(backend_file),
        ],
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def backend_settings(backend_file: Path) -> dict[str, str]:
    """The settings of a backend file bootstrap_backend wrote (bucket, dynamodb_table, ...)."""
    values: dict[str, str] = {}
    for line in backend_file.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = (part.strip() for part in line.split("=", 1))
            values[key] = value.strip('"')
    return values
