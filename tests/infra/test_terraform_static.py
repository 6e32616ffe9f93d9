"""Terraform without AWS: formatting, validation of every root module, native module tests."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.infra.tfkit import Result, Terraform, copy_tree, terraform_binary
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
