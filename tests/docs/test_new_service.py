"""The README's "add a third service" guide, run for real on a copy of the repository.

The copy holds what git would ship (tracked files and untracked, non-ignored ones). In it the
README's own scaffold command runs; then, with no edit outside services/<name>/:
- the pipeline matrix (scripts/manifests.py matrix) lists the new service;
- a Terraform plan of infra/stack (local env tfvars, emulator, local state) creates its ECS
  service, table, target group and listener rule;
- the local stack (scripts/localstack.py, on free ports) serves <prefix>/health through the edge,
  and a created item can be read back through the edge;
- the scaffolded service's own tests pass;
- every services/<name>/... path the README names exists.
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
from tests.support.aws import FAKE_AWS_ENV
from tests.support.procs import Proc, free_port, wait_http
from tests.support.tools import REPO_ROOT, need, output_dir, unavailable

pytestmark = pytest.mark.slow

MIRROR = Path("/opt/tf-plugins")
PY = sys.executable


def repo_files() -> list[str]:
    """What git would ship: tracked files plus untracked files that are not ignored."""
    git = need("git")
    out = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({p for p in out.split("\0") if p and (REPO_ROOT / p).is_file()})


def copy_repo(dest: Path) -> Path:
    for rel in repo_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target)  # keeps mtimes: make sees the venv as up to date
    # The tooling venv is shared, not copied (make's venv target finds it installed).
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")
    return dest


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
    return copy_repo(tmp_path_factory.mktemp("repo-copy"))


def _env(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_", "LOCAL_"))}
    return {**base, **extra}


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

    # 1. The README's command, in the copy.
    cmd = scaffold_command()
    assert cmd[:2] == ["make", "new-service"], cmd
    assert f"NAME={name}" in cmd, cmd
    result = subprocess.run(
        [need("make"), "-C", str(copy), *cmd[1:]],
        env=_env({}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    service_dir = copy / "services" / name
    assert (service_dir / "service.yaml").is_file()
    # Nothing outside services/<name>/ changed.
    assert sorted(p for p in (copy / "services").iterdir() if p.name.startswith(".new-")) == []

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
        unit = Proc(
            [PY, "-m", "pytest", "-q", "-p", "no:xdist", f"services/{name}"],
            work / "unit.log",
            env=_env({"CI": os.environ.get("CI", "")}),
            cwd=str(copy),
        )

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
        up = subprocess.run(
            [PY, "scripts/localstack.py", "up", "--no-seed", "--no-smoke"],
            cwd=copy,
            env=_env(stack_env),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
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

        _finish(unit, f"pytest services/{name} in the copy", 240)
        _finish(plan, "terraform init/plan of infra/stack in the copy", 240)
    finally:
        if stack_env:
            subprocess.run(
                [PY, "scripts/localstack.py", "down"],
                cwd=copy,
                env=_env(stack_env),
                capture_output=True,
                timeout=60,
                check=False,
            )
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
