"""The README's "add a third service" guide, run for real on a copy of the repository.

The copy holds what git would ship (tracked files and untracked, non-ignored ones), less a
services/<name>/ a person may already have made by following the README here. In it the
README's own scaffold command runs; then, with no edit outside services/<name>/ and
docs/architecture.png (which the scaffold redraws):
- every check the repository runs on code passes in the copy: `make lint` (ruff lint, ruff format,
  bandit), the new service's own tests, the diagram, edge config and manifest tests, and the
  stack's configuration (the plan below validates it first, as `terraform plan` always does);
- the pipeline matrix (scripts/manifests.py matrix) lists the new service;
- a Terraform plan of infra/stack (local env tfvars, emulator, local state) creates its ECS
  service, table, target group and listener rule;
- the local stack (scripts/localstack.py, on free ports) serves <prefix>/health through the edge,
  and a created item can be read back through the edge;
- the scaffolded service's own tests pass;
- every services/<name>/... path the README names exists;
- `make remove-service` undoes it: process stopped, local secrets and route gone, the picture back
  to the committed one, `status` all green (and `status` names a process whose folder was deleted).
The plan and the scaffolded tests run while the local stack starts (2 cores: ~60-90 s in all).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import emulator
import httpx
import manifests
import pytest

from tests.docs.docmd import README, added_service_example, section
from tests.infra.tfkit import GO_GC_PERCENT
from tests.local.stack import alive
from tests.support.aws import FAKE_AWS_ENV
from tests.support.procs import Proc, free_port, wait_http
from tests.support.repocopy import copy_repo
from tests.support.tools import need, output_dir, unavailable

pytestmark = pytest.mark.slow

MIRROR = Path("/opt/tf-plugins")
PY = sys.executable
# The repository's own tests that must stay green once a service is added (run in the copy).
CHECKS_IN_COPY = ["tests/docs/test_diagram.py", "tests/local/test_edge_config.py", "tests/test_manifests.py"]


def scaffold_command() -> list[str]:
    """The scaffold command exactly as the README's add-a-service section writes it."""
    guide = section(README.read_text(), "Add a third service")
    for line in re.findall(r"```(?:bash|sh)\n(.*?)```", guide, flags=re.S):
        for cmd in line.splitlines():
            if cmd.strip().startswith("make new-service"):
                return shlex.split(cmd.split("#", 1)[0])
    raise AssertionError("README's 'Add a third service' section has no `make new-service` command")


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    name, _ = added_service_example()
    return copy_repo(tmp_path_factory.mktemp("repo-copy"), leave_out=f"services/{name}/")


def _env(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_", "LOCAL_"))}
    return {**base, **extra}


def _make(copy: Path, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`make ARGS` in the copy, with none of the caller's AWS_/TF_/LOCAL_ variables."""
    return subprocess.run(
        [need("make"), "-C", str(copy), *args],
        env=_env(extra or {}),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _localstack(copy: Path, stack_env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """scripts/localstack.py in the copy, run by the interpreter `make` uses there (.venv/bin/python)."""
    return subprocess.run(
        [str(copy / ".venv" / "bin" / "python"), "scripts/localstack.py", *args],
        cwd=copy,
        env=_env(stack_env),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _start_plan(copy: Path, aws_url: str, work: Path) -> Proc:
    """terraform init (local backend) + plan -out, in the background."""
    terraform = shutil.which("terraform")
    if terraform is None or not MIRROR.is_dir():
        unavailable("terraform or the provider mirror /opt/tf-plugins is missing: cannot plan the stack")
    stack = copy / "infra" / "stack"
    # The copy only: a local backend instead of S3 (Terraform's documented *_override.tf mechanism).
    (stack / "docs_test_backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    plan = work / "stack.tfplan"
    script = (
        f"{shlex.quote(terraform)} -chdir={shlex.quote(str(stack))} init -input=false -no-color "
        f"&& {shlex.quote(terraform)} -chdir={shlex.quote(str(stack))} plan -input=false -no-color "
        f"-var-file=../envs/local/terraform.tfvars -state={shlex.quote(str(work / 'tf.tfstate'))} "
        f"-out={shlex.quote(str(plan))} "
        f"&& {shlex.quote(terraform)} -chdir={shlex.quote(str(stack))} show -json {shlex.quote(str(plan))} "
        f"> {shlex.quote(str(work / 'plan.json'))}"
    )
    env = _env(
        {
            **FAKE_AWS_ENV,
            "AWS_ENDPOINT_URL": aws_url,
            "TF_CLI_CONFIG_FILE": str(copy / "infra" / "mirror.tfrc"),
            "TF_DATA_DIR": str(work / "tfdata"),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "GOGC": GO_GC_PERCENT,  # as every terraform of the tests (tests/infra/tfkit.py)
        }
    )
    return Proc(["bash", "-euo", "pipefail", "-c", script], work / "terraform.log", env=env, cwd=str(copy))


def _finish(proc: Proc, what: str, timeout: float) -> None:
    try:
        proc.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.stop()
        raise AssertionError(f"{what} did not finish in {timeout:.0f}s:\n{proc.tail(60)}") from None
    code = proc.stop()
    assert code == 0, f"{what} failed (exit {code}):\n{proc.tail(60)}"


def test_readme_scaffold_is_planned_listed_and_served(copy: Path) -> None:
    name, port = added_service_example()
    logs = output_dir("docs-new-service")
    work = copy / ".docs-test"
    work.mkdir()

    # The picture of the repository without the new service (what removing it must give back).
    before = _make(copy, "diagram", f"DIAGRAM_OUT={work / 'before.png'}")
    assert before.returncode == 0, before.stdout + before.stderr

    # 1. The README's command, in the copy.
    cmd = scaffold_command()
    assert cmd[:2] == ["make", "new-service"], cmd
    assert f"NAME={name}" in cmd, cmd
    result = _make(copy, *cmd[1:])
    assert result.returncode == 0, result.stdout + result.stderr
    service_dir = copy / "services" / name
    assert (service_dir / "service.yaml").is_file()
    # Nothing outside services/<name>/ changed.
    assert sorted(p for p in (copy / "services").iterdir() if p.name.startswith(".new-")) == []
    assert "redrew docs/architecture.png" in result.stdout, result.stdout

    # Every services/<name>/... path the README names was created by the scaffold.
    named = set(re.findall(rf"services/{re.escape(name)}/[\w./-]*[\w/]", README.read_text()))
    missing = [p for p in sorted(named) if not (copy / p).exists()]
    assert not missing, f"README names {missing}, which the scaffold did not create"

    # 2. The pipeline's image matrix lists it.
    matrix = subprocess.run(
        [PY, "scripts/manifests.py", "matrix"], cwd=copy, capture_output=True, text=True, check=True
    )
    assert {"service": name, "port": port} in json.loads(matrix.stdout)

    # 3. Plan and the new service's own tests in the background while the local stack starts.
    moto_port = free_port()
    moto = Proc(
        emulator.argv(PY, moto_port),
        logs / f"moto-{moto_port}.log",
        env=_env(FAKE_AWS_ENV),
    )
    stack_env: dict[str, str] = {}
    try:
        wait_http(f"http://127.0.0.1:{moto_port}/moto-api/", timeout=30)
        plan = _start_plan(copy, f"http://127.0.0.1:{moto_port}", work)
        # Its own tests and the repository's checks that read every manifest or the picture.
        unit = Proc(
            [PY, "-m", "pytest", "-q", "-p", "no:xdist", f"services/{name}", *CHECKS_IN_COPY],
            work / "unit.log",
            env=_env({"CI": os.environ.get("CI", "")}),
            cwd=str(copy),
        )
        lint = _make(copy, "lint")
        (logs / "make-lint.log").write_text(lint.stdout + lint.stderr)
        assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]

        ports = {free_port() for _ in range(12)}
        names = json.loads(matrix.stdout)
        assert len(ports) >= 2 + len(names)
        it = iter(sorted(ports))
        stack_env = {
            "LOCAL_STATE_DIR": str(work / "local"),
            "LOCAL_EDGE_PORT": str(next(it)),
            "LOCAL_AWS_PORT": str(next(it)),
            **{f"LOCAL_PORT_{s['service'].upper().replace('-', '_')}": str(next(it)) for s in names},
        }
        up = _localstack(copy, stack_env, "up", "--no-seed", "--no-smoke")
        (logs / "localstack-up.log").write_text(up.stdout + up.stderr)
        assert up.returncode == 0, up.stdout + up.stderr
        edge = f"http://127.0.0.1:{stack_env['LOCAL_EDGE_PORT']}"
        r = httpx.get(f"{edge}/{name}/health", timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ok"
        assert httpx.get(f"{edge}/{name}/ready", timeout=30).json()["status"] == "ready"
        values = dict(
            line.split("=", 1)
            for line in (work / "local" / "secrets.env").read_text().splitlines()
            if line and not line.startswith("#")
        )
        key = values[f"{name.upper().replace('-', '_')}_API_KEY"]
        created = httpx.post(
            f"{edge}/{name}/items", json={"name": "docs"}, headers={"X-Api-Key": key}, timeout=30
        )
        assert created.status_code == 201, created.text
        got = httpx.get(f"{edge}/{name}/items/{created.json()['id']}", timeout=30)
        assert got.status_code == 200
        assert got.json() == created.json()
        assert httpx.post(f"{edge}/{name}/items", json={"name": "x"}, timeout=30).status_code == 401

        _finish(unit, f"pytest services/{name} and the repository checks in the copy", 240)
        _finish(plan, "terraform init/plan of infra/stack in the copy", 240)

        # 5. Removing it again: first by hand (status must notice its lingering process) ...
        service_pid = json.loads((work / "local" / "pids" / f"{name}.json").read_text())["pid"]
        aside = copy / f".aside-{name}"
        service_dir.rename(aside)
        lingering = _localstack(copy, stack_env, "status")
        assert lingering.returncode == 1, lingering.stdout
        assert f"services/{name}/ is gone" in lingering.stdout, lingering.stdout
        aside.rename(service_dir)
        # ... then with the README's command: process, local secrets, route and folder go.
        removed = _make(copy, "remove-service", f"NAME={name}", extra=stack_env)
        (logs / "remove-service.log").write_text(removed.stdout + removed.stderr)
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert not alive(service_pid), f"{name} (pid {service_pid}) still runs after remove-service"
        assert not service_dir.exists()
        kept = list((work / "local" / "removed").glob(f"{name}-*"))
        assert len(kept) == 1, "the folder is moved aside (never deleted with uncommitted work)"
        assert (kept[0] / "service.yaml").is_file()
        assert f"{name.upper().replace('-', '_')}_API_KEY" not in (work / "local" / "secrets.env").read_text()
        assert "CATALOG_API_KEY=" in (work / "local" / "secrets.env").read_text()
        assert httpx.get(f"{edge}/{name}/health", timeout=30).status_code == 404
        # Only the edge restarts (new routes); the emulator and its data, and the services, stay.
        assert "edge (caddy)   restarted" in removed.stdout, removed.stdout
        assert removed.stdout.count("already running") == 1 + len(names) - 1, removed.stdout
        assert (copy / "docs" / "architecture.png").read_bytes() == (work / "before.png").read_bytes(), (
            "the picture is not back to the one without the service"
        )
        after = _localstack(copy, stack_env, "status")
        assert after.returncode == 0, after.stdout + after.stderr
        assert name not in after.stdout
    finally:
        if stack_env:
            _localstack(copy, stack_env, "down")
        moto.stop()
        for log in work.glob("*.log"):
            shutil.copy2(log, logs / log.name)

    # 4. What the plan creates for the new service (addresses are keyed by service name).
    changes = json.loads((work / "plan.json").read_text())["resource_changes"]

    def created(rtype: str) -> dict:
        found = [
            c
            for c in changes
            if c["type"] == rtype and f'["{name}"]' in c["address"] and "create" in c["change"]["actions"]
        ]
        assert found, f"the plan creates no {rtype} for {name}"
        return found[0]["change"]["after"]

    assert created("aws_dynamodb_table")["name"] == manifests.table_name(name, "local")
    assert created("aws_ecs_service")["name"]
    assert created("aws_lb_target_group")["port"] == port
    assert f"/{name}/*" in json.dumps(created("aws_lb_listener_rule")["condition"])
