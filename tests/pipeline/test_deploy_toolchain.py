"""The deploy toolchain (requirements/deploy.txt) holds what the jobs that ask for it run.

Jobs on the build and deploy lanes ask `.github/actions/setup` for ``toolchain: deploy`` and get a
venv of 19 packages instead of the whole dev toolchain. A job that then runs a script importing
something outside that lock would fail on GitHub on first contact: these tests read every such
job's commands (``make`` targets expanded by ``make -n``), follow the imports of the scripts they
run, and check them against the lock, statically and by starting each script in a venv that holds
only the lock's packages.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.pipeline.toolchain import (
    DEPLOY_IN,
    LOCKS,
    direct_requirements,
    distributions_needed,
    job_commands,
    lock_pins,
    lock_venv,
    setup_jobs,
    unmet,
)
from tests.pipeline.workflows import load
from tests.support.tools import MAKE_CHANNELS, REPO_ROOT

JOBS = setup_jobs()
DEPLOY_JOBS = [job for job in JOBS if job.toolchain == "deploy"]
FULL_JOBS = [job for job in JOBS if job.toolchain == "full"]
DEPLOY_LOCK = LOCKS["deploy"]


def test_the_build_and_deploy_lanes_ask_for_the_deploy_toolchain() -> None:
    asked = {job.where for job in DEPLOY_JOBS}
    assert {"reusable-images.yml:matrix", "reusable-images.yml:build", "reusable-images.yml:collect",
            "reusable-terraform.yml:plan", "reusable-apply.yml:apply", "main.yml:secrets",
            "reusable-static.yml:publish", "reusable-smoke.yml:smoke"} <= asked  # fmt: skip
    assert {job.toolchain for job in JOBS} <= set(LOCKS), "setup's toolchain input is full or deploy"


@pytest.mark.parametrize("job", DEPLOY_JOBS, ids=lambda j: j.where)
def test_a_deploy_job_runs_only_what_the_deploy_lock_holds(job) -> None:
    assert unmet(job, DEPLOY_LOCK) == []


@pytest.mark.parametrize("job", FULL_JOBS, ids=lambda j: j.where)
def test_a_job_installs_the_full_toolchain_only_when_it_needs_it(job) -> None:
    assert unmet(job, DEPLOY_LOCK), f"{job.where} would run with toolchain: deploy; ask for it"


def test_the_deploy_lock_asks_for_exactly_what_those_jobs_import() -> None:
    needed = set().union(*(distributions_needed(job)[0] for job in DEPLOY_JOBS))
    assert needed == direct_requirements(DEPLOY_IN)


@pytest.mark.parametrize("package", sorted(direct_requirements(DEPLOY_IN)))
def test_a_lock_without_a_needed_package_is_refused(package: str, tmp_path: Path) -> None:
    blocks = DEPLOY_LOCK.read_text().split("\n")
    kept, skipping = [], False
    for line in blocks:
        if line and not line[0].isspace():
            skipping = line.lower().startswith(f"{package}==")
        if not skipping:
            kept.append(line)
    lock = tmp_path / "deploy.txt"
    lock.write_text("\n".join(kept))
    assert package not in lock_pins(lock)
    refused = [job.where for job in DEPLOY_JOBS if f"needs {package}, not in deploy.txt" in unmet(job, lock)]
    assert refused, f"no deploy job noticed {package} missing"


def test_the_deploy_lock_pins_what_the_full_lock_pins() -> None:
    """Same versions and hashes: a full venv is a deploy venv too (make venv relies on it)."""
    full, deploy = lock_pins(LOCKS["full"]), lock_pins(DEPLOY_LOCK)
    assert 15 <= len(deploy) < len(full) / 4
    regenerate = (
        "requirements/deploy.txt differs from dev.txt: regenerate it as its header says (cd requirements;"
        " uv pip compile deploy.in ...), its -c dev.txt keeps the versions equal"
    )
    assert {name: full.get(name) for name in deploy} == deploy, regenerate
    text = DEPLOY_LOCK.read_text()
    assert "://" not in text
    assert "index-url" not in text
    assert "find-links" not in text
    assert (
        "uv pip compile deploy.in --universal --generate-hashes --python-version 3.11 -o deploy.txt" in text
    )


def deploy_scripts() -> list[str]:
    scripts = sorted(set().union(*(job_commands(job).scripts for job in DEPLOY_JOBS)))
    assert "scripts/ci/ci_images.py" in scripts
    assert "scripts/ci/smoke_env.py" in scripts
    return [*scripts, "scripts/smoke_test.py"]  # smoke_env.py starts smoke_test.py


def _help_runs(python: Path, scripts: list[str]) -> dict[str, list[str]]:
    """Each script started with --help by ``python``: script -> last line of its error."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}
    failed = {}
    for script in scripts:
        result = subprocess.run(
            [str(python), script, "--help"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            failed[script] = result.stderr.strip().splitlines()[-1:]
    return failed


def test_every_deploy_script_starts_in_a_venv_of_the_deploy_lock_only(tmp_path: Path) -> None:
    assert _help_runs(lock_venv(DEPLOY_LOCK, tmp_path / "deploy"), deploy_scripts()) == {}


def test_that_venv_misses_a_dependency_taken_out_of_the_lock(tmp_path: Path) -> None:
    """The venv check can fail: without jmespath (a dependency of botocore only) boto3 cannot load."""
    venv = lock_venv(DEPLOY_LOCK, tmp_path / "deploy", without=frozenset({"jmespath"}))
    failed = _help_runs(venv, ["scripts/ci/ci_images.py"])
    assert "scripts/ci/ci_images.py" in failed
    assert "jmespath" in str(failed["scripts/ci/ci_images.py"])


def _make(*args: str, venv: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in MAKE_CHANNELS}
    return subprocess.run(
        ["make", *args, f"VENV={venv}"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def test_the_deploy_targets_need_only_the_deploy_venv(tmp_path: Path) -> None:
    for target in ("sync-secrets", "publish-static"):
        dry = _make("-n", target, "ENV=dev", venv=tmp_path)
        assert dry.returncode == 0, dry.stderr
        assert "-r requirements/deploy.txt" in dry.stdout, target
        assert "requirements/dev.txt" not in dry.stdout, target


def test_a_full_venv_counts_as_a_deploy_venv_and_not_the_reverse(tmp_path: Path) -> None:
    """The stamp decides: venv-deploy accepts a full venv; venv completes a deploy venv."""
    venv = tmp_path / "venv"
    venv.mkdir()
    fake_python = tmp_path / "python"  # stands in for `python -m pip|uv ...`: says so, installs nothing
    fake_python.write_text('#!/bin/sh\necho "python $*"\n')
    fake_python.chmod(0o755)
    full_sha, deploy_sha = (hashlib.sha256(LOCKS[k].read_bytes()).hexdigest() for k in ("full", "deploy"))
    target = {"full": "venv", "deploy": "venv-deploy"}
    for installed, toolchain, installs in [
        (full_sha, "deploy", False), (full_sha, "full", False),
        (deploy_sha, "deploy", False), (deploy_sha, "full", True), ("", "deploy", True), ("", "full", True),
    ]:  # fmt: skip
        (venv / ".installed").write_text(installed + "\n")
        result = _make(target[toolchain], f"PY={fake_python}", venv=venv)
        assert result.returncode == 0, result.stderr
        assert ("installing the tooling venv" in result.stdout) is installs, (installed[:8], toolchain)
        if installs:
            lock = LOCKS[toolchain].relative_to(REPO_ROOT)
            installer = (
                "python -m pip install --quiet --no-deps --only-binary=:all: --require-hashes"
                " -r requirements/uv.txt"
            )
            installs_lock = (
                f"python -m uv pip install --quiet --compile-bytecode --python {fake_python}"
                f" --require-hashes -r {lock}"
            )
            assert result.stdout.index(installer) < result.stdout.index(installs_lock), result.stdout
            stamp = full_sha if toolchain == "full" else deploy_sha
            assert (venv / ".installed").read_text().strip() == stamp


def test_a_failed_install_leaves_no_stamp_and_fails(tmp_path: Path) -> None:
    """pip or uv failing stops make: no stamp, so the next `make venv` installs again."""
    venv = tmp_path / "venv"
    venv.mkdir()
    for failing in ("pip", "uv"):
        fake_python = tmp_path / f"python-{failing}"
        fake_python.write_text(f'#!/bin/sh\n[ "$2" = {failing} ] && exit 1\necho "python $*"\n')
        fake_python.chmod(0o755)
        result = _make("venv-deploy", f"PY={fake_python}", venv=venv)
        assert result.returncode != 0, (failing, result.stdout)
        assert not (venv / ".installed").exists(), failing


def _setup_venv_step(toolchain: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The setup action's venv step as GitHub runs it (bash), with a `make` that only says what it got."""
    action = load(REPO_ROOT / ".github" / "actions" / "setup" / "action.yml")
    (step,) = [s for s in action["runs"]["steps"] if s.get("name") == "Tooling venv"]
    assert step["env"] == {"TOOLCHAIN": "${{ inputs.toolchain }}"}
    fake_make = tmp_path / "make"
    fake_make.write_text('#!/bin/sh\necho "make $*"\n')
    fake_make.chmod(0o755)
    env = {"PATH": f"{tmp_path}:{os.environ.get('PATH', '')}", "TOOLCHAIN": toolchain}
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_the_setup_input_chooses_the_venv_and_refuses_anything_else(tmp_path: Path) -> None:
    action = load(REPO_ROOT / ".github" / "actions" / "setup" / "action.yml")
    assert action["inputs"]["toolchain"]["default"] == "full"
    assert _setup_venv_step("full", tmp_path).stdout == "make venv\n"
    assert _setup_venv_step("deploy", tmp_path).stdout == "make venv-deploy\n"
    wrong = _setup_venv_step("small", tmp_path)
    assert wrong.returncode == 2
    assert wrong.stdout == "::error::toolchain must be full or deploy (got 'small')\n"
