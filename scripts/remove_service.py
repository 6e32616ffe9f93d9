"""Remove a service: ``make remove-service NAME=reviews`` (the reverse of ``make new-service``).

In this checkout, in this order:

1. refuses (exit 2, nothing changed) a name that is not a service folder with a manifest, or a
   service another manifest depends on (its ``dependencies``);
2. stops the service's local process if ``make up`` started it (tooling/supervisor.py pid record);
3. removes its owned secrets: their lines in the local values file (``.local/secrets.env``, or
   ``$LOCAL_STATE_DIR/secrets.env``) and, when the local emulator runs, the secrets and the table;
4. moves ``services/<name>/`` out of the tree into ``.local/removed/<name>-<time>/`` (git-ignored:
   uncommitted work in it is never lost; delete that copy when you are sure) and redraws
   ``docs/architecture.png``;
5. when the local edge runs, reconciles the stack as ``make up`` does (``--no-seed --no-smoke``):
   the edge restarts without the service's route, so ``make status`` tells the truth.

In AWS nothing changes until the removal is merged: then the pipeline's apply deletes the
service's ECS service, target group, route, alarms, log group and secrets (a table with deletion
protection, as in prod, must have it turned off first). Exit codes: 0 removed, 1 failed, 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

import diagram
import manifests
import sync_secrets
from botocore.exceptions import BotoCoreError, ClientError
from tooling import stack_commands
from tooling.emulator_setup import client
from tooling.stack_commands import say
from tooling.stack_settings import ENVIRONMENT, Settings, StackError
from tooling.supervisor import Processes


class RemoveError(Exception):
    """Why the service cannot be removed (one line); ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def check(name: str, services_dir: Path = manifests.SERVICES_DIR) -> manifests.Manifest:
    """The manifest of a service that may be removed, or RemoveError."""
    every = manifests.load_all(services_dir)
    found = next((m for m in every if m.name == name), None)
    if found is None:
        known = ", ".join(m.name for m in every)
        raise RemoveError(f"no service named {name!r} (services: {known})")
    callers = sorted(m.name for m in every if any(d.service == name for d in m.dependencies))
    if callers:
        raise RemoveError(
            f"{name} is a dependency of {', '.join(callers)}: remove it from their manifests first"
        )
    return found


def drop_secret_lines(path: Path, manifest: manifests.Manifest) -> list[str]:
    """Remove the service's owned secrets (and their comment lines) from a values file, 0600 kept."""
    if not path.is_file():
        return []
    variables = {sync_secrets.variable_name(manifest.name, s.name) for s in manifest.secrets if s.owned}
    ids = {manifests.secret_id(manifest.name, s.name, ENVIRONMENT) for s in manifest.secrets}
    kept, dropped = [], []
    for line in path.read_text().splitlines(keepends=True):
        key = line.split("=", 1)[0].strip().removeprefix("export ").strip()
        if "=" in line and not line.lstrip().startswith("#") and key in variables:
            dropped.append(key)
        elif not (line.startswith("# ") and line[2:].split(":", 1)[0] in ids):
            kept.append(line)
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.writelines(kept)
        tmp.replace(path)
    return dropped


def drop_emulator_resources(settings: Settings, manifest: manifests.Manifest) -> str:
    """Delete the service's secrets and table in the running emulator (its data is in memory)."""
    if Processes(settings).running("moto") is None:
        return "emulator not running"
    sm = client(settings, "secretsmanager")
    for s in manifest.secrets:
        if s.owned:
            secret = manifests.secret_id(manifest.name, s.name, ENVIRONMENT)
            with contextlib.suppress(sm.exceptions.ResourceNotFoundException):
                sm.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
    ddb = client(settings, "dynamodb")
    table = manifests.table_name(manifest.name, ENVIRONMENT)
    with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
        ddb.delete_table(TableName=table)
    return f"deleted its secrets and table {table} in the emulator"


def remove(name: str) -> None:
    manifest = check(name)
    if shutil.which("dot") is None:  # before anything changes: the picture must be redrawn at the end
        raise RemoveError(
            "graphviz 'dot' not found (docs/architecture.png shows every service); "
            "run: sudo bash scripts/install_system_deps.sh",
            code=1,
        )
    settings = Settings.from_env()
    say(f"  process        {Processes(settings).stop(name)}")
    dropped = drop_secret_lines(settings.secrets_file, manifest)
    say(f"  secret values  removed {', '.join(dropped) or 'none'} from {settings.rel(settings.secrets_file)}")
    say(f"  emulator       {drop_emulator_resources(settings, manifest)}")
    kept = settings.state / "removed" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(manifest.directory, kept)
    say(
        f"  folder         moved {manifest.directory.relative_to(manifests.REPO_ROOT)}/ to "
        f"{settings.rel(kept)}/ (nothing uncommitted is lost; delete it when sure)"
    )
    diagram.draw(diagram.DEFAULT_OUT)
    say("  diagram        redrew docs/architecture.png")
    settings = Settings.from_env()  # without the removed service
    if Processes(settings).running("edge") is None:
        say("  local stack    not running (nothing to reconcile)")
    else:
        say("  local stack    reconciling as `make up` does (the edge drops the route):")
        stack_commands.up(settings, seed=False, smoke=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the service to remove (a folder under services/)")
    args = parser.parse_args(argv)
    try:
        remove(args.name)
    except RemoveError as exc:
        print(f"remove_service: {exc}", file=sys.stderr)
        return exc.code
    except (StackError, diagram.DiagramError, OSError, ValueError) as exc:
        print(f"remove_service: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"remove_service: AWS emulator call failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"Removed {args.name}. Commit the change (services/{args.name}/ and docs/architecture.png);\n"
        f"its lines in the GitHub environments' SERVICE_SECRETS can go once the removal is deployed."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
