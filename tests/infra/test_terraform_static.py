"""Terraform without AWS: formatting, validation of every root module, native module tests."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.infra.tfkit import GO_GC_PERCENT, Result, Terraform, copy_tree, terraform_binary
from tests.support.tools import REPO_ROOT

pytestmark = pytest.mark.tool("terraform")

INFRA = REPO_ROOT / "infra"
ROOT_MODULES = ["stack", "bootstrap"]
TESTED_MODULES = sorted(
    str(p.parent.parent.relative_to(INFRA))
    for p in INFRA.glob("**/tests/*.tftest.hcl")
    if ".terraform" not in p.parts
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    terraform_binary()
    return copy_tree(tmp_path_factory.mktemp("tf-static"))


def test_fmt_check(tree: Path) -> None:
    result = Terraform(tree, tree.parent / "tfdata-fmt").run(
        "fmt", "-check", "-recursive", "-diff", check=False
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.output}\n(run: make tf-fmt-fix)"


def test_my_modules_have_native_tests() -> None:
    mine = {
        "modules/network",
        "modules/alb",
        "modules/ecs_cluster",
        "modules/ecs_service",
        "modules/dynamodb",
        "bootstrap",
    }
    assert mine <= set(TESTED_MODULES), f"modules without tests/*.tftest.hcl: {mine - set(TESTED_MODULES)}"


@pytest.mark.slow
@pytest.mark.parametrize("root", ROOT_MODULES)
def test_validate_root_module(tree: Path, root: str) -> None:
    tf = Terraform(tree / root, tree.parent / f"tfdata-validate-{root}")
    tf.run("init", "-backend=false", "-input=false", "-no-color")
    result = tf.run("validate", "-json", check=False)
    report = result.json()
    assert report["valid"], report  # type: ignore[index]


def _module_test(tree: Path, module: str) -> Result:
    tf = Terraform(tree / module, tree.parent / f"tfdata-test-{module.replace('/', '-')}")
    tf.run("init", "-backend=false", "-input=false", "-no-color")
    return tf.run("test", "-no-color", check=False)


@pytest.fixture(scope="module")
def module_results(tree: Path) -> dict[str, Result]:
    """All native module tests, three at a time (each is mostly provider start-up latency)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {m: pool.submit(_module_test, tree, m) for m in TESTED_MODULES}
        return {m: f.result(timeout=600) for m, f in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("module", TESTED_MODULES)
def test_native_module_tests(module_results: dict[str, Result], module: str) -> None:
    result = module_results[module]
    summary = [line for line in result.stdout.splitlines() if line.startswith(("Success!", "Failure!"))]
    print(
        f"terraform test {module}: {summary[-1] if summary else '?'} ({result.seconds:.1f}s)", file=sys.stderr
    )
    assert result.returncode == 0, result.output[-6000:]
    assert summary
    assert summary[-1].startswith("Success!")
    assert " 0 passed" not in summary[-1]


LOCKED_DIRS = sorted(p.parent for p in INFRA.glob("**/versions.tf") if ".terraform" not in p.parts)


def test_every_terraform_directory_commits_its_provider_lock() -> None:
    """Plan and apply run init in different jobs: the committed lock makes them install the same build."""
    assert len(LOCKED_DIRS) >= 10, LOCKED_DIRS
    for folder in LOCKED_DIRS:
        lock = folder / ".terraform.lock.hcl"
        assert lock.is_file(), f"{lock.relative_to(REPO_ROOT)} missing (see README: provider lock)"
        text = lock.read_text()
        assert 'provider "registry.terraform.io/hashicorp/aws"' in text
        assert 'version     = "5.100.0"' in text
        assert '"h1:' in text, f"{lock} has no package hash"
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert ".terraform.lock.hcl" not in ignored
    infra_mk = (REPO_ROOT / "mk" / "30-infra.mk").read_text()
    assert "TF_INIT   := init -lockfile=readonly" in infra_mk
    # Only `make tf-lock` (init -upgrade) may write a lock file.
    bare = [
        line
        for line in infra_mk.splitlines()
        if line.startswith("\t") and " init " in line and "-upgrade" not in line
    ]
    assert bare == [], f"init without -lockfile=readonly: {bare}"


def test_init_never_writes_the_lock_file(tree: Path) -> None:
    """Without its lock, init refuses (-lockfile=readonly) instead of resolving a build of its own."""
    module = tree / "modules" / "dynamodb"
    lock = module / ".terraform.lock.hcl"
    kept = lock.read_text()
    lock.unlink()
    try:
        result = Terraform(module, tree.parent / "tfdata-lock").run(
            "init", "-backend=false", "-input=false", "-no-color", check=False
        )
        assert result.returncode != 0
        assert "Provider dependency changes detected" in result.output, result.output[-2000:]
        assert not lock.exists()
    finally:
        lock.write_text(kept)


def test_terraform_runs_with_the_test_gc_setting(tmp_path: Path) -> None:
    """Every terraform the tests start (and the provider it starts) gets GOGC: less CPU per start."""
    tf = Terraform(tmp_path, tmp_path / "tfdata", {"AWS_REGION": "eu-west-1"})
    assert tf.environ()["GOGC"] == GO_GC_PERCENT == "400"
    assert tf.environ()["AWS_REGION"] == "eu-west-1"
