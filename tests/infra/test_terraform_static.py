"""Terraform without AWS: formatting, validation of every root module, native module tests."""

from __future__ import annotations

import re
import sys
from collections import Counter
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


def _calls_modules(folder: Path) -> bool:
    """Whether the folder's configuration or its tests call a module (init must install it): the
    files terraform reads there, HCL and JSON, the test files in the folder and in tests/."""
    hcl = [*folder.glob("*.tf"), *folder.glob("*.tftest.hcl"), *folder.glob("tests/*.tftest.hcl")]
    json_files = [
        *folder.glob("*.tf.json"),
        *folder.glob("*.tftest.json"),
        *folder.glob("tests/*.tftest.json"),
    ]
    return any(re.search(r'^\s*module\s*("[^"]*"\s*)?\{', f.read_text(), re.M) for f in hcl) or any(
        re.search(r'"module"\s*:', f.read_text()) for f in json_files
    )


def _data_dirs(tree: Path) -> dict[str, Path]:
    """The TF_DATA_DIR of each tested folder. Folders that call no module and commit the same lock
    file share one (init hashes the 707 MB provider: about 1.4 CPU s each); terraform still checks
    every folder's own lock file against the provider installed there, on every command."""
    dirs: dict[str, Path] = {}
    shared: dict[str, Path] = {}
    for module in TESTED_MODULES:
        folder = tree / module
        if _calls_modules(folder):
            dirs[module] = tree.parent / f"tfdata-test-{module.replace('/', '-')}"
            continue
        lock = (folder / ".terraform.lock.hcl").read_text()
        dirs[module] = shared.setdefault(lock, tree.parent / f"tfdata-test-shared-{len(shared)}")
    return dirs


def _module_test(tree: Path, module: str, data_dir: Path, init: bool) -> Result:
    tf = Terraform(tree / module, data_dir)
    if init:
        tf.run("init", "-backend=false", "-input=false", "-no-color")
    return tf.run("test", "-no-color", check=False)


@pytest.fixture(scope="module")
def module_results(tree: Path) -> dict[str, Result]:
    """All native module tests, three at a time (each is mostly provider start-up latency); each
    data dir is initialised once, before the tests that share it start."""
    dirs = _data_dirs(tree)
    shared = {d for d, n in Counter(dirs.values()).items() if n > 1}
    for data_dir in shared:
        module = next(m for m, d in dirs.items() if d == data_dir)
        Terraform(tree / module, data_dir).run("init", "-backend=false", "-input=false", "-no-color")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {m: pool.submit(_module_test, tree, m, d, init=d not in shared) for m, d in dirs.items()}
        return {m: f.result(timeout=600) for m, f in futures.items()}


def test_tested_folders_share_an_init_only_when_they_may(tmp_path: Path) -> None:
    """A folder that calls a module, or commits another lock file, gets a data dir of its own."""
    infra = tmp_path / "infra"
    for module in TESTED_MODULES:
        (infra / module / "tests").mkdir(parents=True)
        (infra / module / ".terraform.lock.hcl").write_text("lock A")
    (infra / TESTED_MODULES[0] / "main.tf").write_text('module "x" {\n  source = "../x"\n}\n')
    (infra / TESTED_MODULES[1] / ".terraform.lock.hcl").write_text("lock B")
    dirs = _data_dirs(infra)
    rest = {dirs[m] for m in TESTED_MODULES[2:]}
    assert len(rest) == 1
    assert dirs[TESTED_MODULES[0]] not in rest | {dirs[TESTED_MODULES[1]]}
    assert dirs[TESTED_MODULES[1]] not in rest
    (infra / TESTED_MODULES[2] / "tests" / "a.tftest.hcl").write_text(
        'run "x" {\n  module {\n    source = "./y"\n  }\n}\n'
    )
    assert _calls_modules(infra / TESTED_MODULES[2])
    assert not _calls_modules(infra / TESTED_MODULES[3])
    (infra / TESTED_MODULES[3] / "main.tf.json").write_text('{"module": {"x": {"source": "../x"}}}')
    assert _calls_modules(infra / TESTED_MODULES[3])


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
