"""Every command and every repository path in the docs is real.

- each `make <target>` in a shell block of README.md, README.es.md, design.md or docs/*.md is a
  target that `make help` lists, or one that `make -n` accepts with the same variables;
- each script a command runs (python/bash <path>) exists;
- each command starts with a tool a newcomer has (make, python, terraform, aws, gh, curl, ...);
- each repository path the docs name exists (the example service of the add-a-service guide is
  checked by test_new_service.py, which creates it);
- the README starts with the two commands, and `make test` is what .ci/run runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from functools import cache

import pytest
import yaml

from tests.docs.docmd import (
    DESIGN,
    DOCS,
    README,
    README_ES,
    added_service_example,
    all_commands,
    as_path,
    commands,
    make_target,
    repo_paths,
    section,
    shell_blocks,
)
from tests.support.tools import REPO_ROOT, need

# Programs the docs may tell a person to run (installed by the README's prerequisites or on PATH).
KNOWN_TOOLS = {
    "make",
    "python",
    "python3",
    ".venv/bin/python",
    ".venv/bin/pytest",
    "bash",
    "terraform",
    "aws",
    "gh",
    "git",
    "curl",
    "set",
    ".",
    "cat",
    "export",
    "cd",
    "jq",
    "podman",
    "echo",
    "grep",
    "ls",
    "sort",
    "head",
    "tail",
}
DOC_IDS = [p.name for p in DOCS]


@cache
def help_output() -> str:
    """`make help` as a pipe sees it."""
    return subprocess.run(
        [need("make"), "-C", str(REPO_ROOT), "--no-print-directory", "help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def help_targets() -> frozenset[str]:
    return frozenset(line.split()[0] for line in help_output().splitlines() if line.startswith("  "))


def test_make_help_is_grouped_by_area_and_plain_when_piped() -> None:
    out = help_output()
    assert "\x1b" not in out, "colour codes in piped output"
    headings = [line for line in out.splitlines()[1:] if line.strip() and not line.startswith(" ")]
    assert {"The local stack", "Terraform", "Services and documentation"} <= set(headings), headings
    documented = set()
    for mk in [REPO_ROOT / "Makefile", *sorted((REPO_ROOT / "mk").glob("*.mk"))]:
        documented |= set(re.findall(r"^([a-zA-Z0-9_.-]+):.*## ", mk.read_text(), re.M))
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(documented), "each documented target once"
    # Grouped by file, in file order: `up` comes before `plan`, which comes before `new-service`.
    assert listed.index("up") < listed.index("plan") < listed.index("new-service")


def test_make_help_has_colour_on_a_terminal() -> None:
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "TERM"}}
    try:
        proc = subprocess.run(
            [need("make"), "-C", str(REPO_ROOT), "--no-print-directory", "help"],
            stdout=follower,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=True,
        )
        os.close(follower)
        chunks = []
        with contextlib.suppress(OSError):
            while data := os.read(leader, 65536):
                chunks.append(data)
    finally:
        os.close(leader)
    assert proc.returncode == 0
    assert b"\x1b[36mup" in b"".join(chunks)


def _example_service_path(path: str) -> bool:
    name, _ = added_service_example()
    return path == f"services/{name}" or path.startswith(f"services/{name}/")


@pytest.mark.parametrize("doc", DOCS, ids=DOC_IDS)
def test_every_make_command_is_a_real_target(doc) -> None:
    targets = help_targets()
    assert {"up", "test", "diagram", "new-service"} <= targets
    bad = []
    for cmd in all_commands(doc.read_text()):
        if cmd.argv[0] != "make":
            continue
        target, assigns = make_target(cmd.argv)
        if target in targets:
            continue
        dry = subprocess.run(
            [need("make"), "-C", str(REPO_ROOT), "-n", target, *assigns],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if dry.returncode != 0:
            bad.append(f"{cmd.line!r}: {dry.stderr.strip().splitlines()[-1:]}")
    assert not bad, f"{doc.name}: commands that are not make targets: {bad}"


@pytest.mark.parametrize("doc", DOCS, ids=DOC_IDS)
def test_every_script_a_command_runs_exists_and_every_tool_is_known(doc) -> None:
    missing, unknown = [], []
    for cmd in all_commands(doc.read_text()):
        tool = cmd.argv[0]
        if tool not in KNOWN_TOOLS and not (REPO_ROOT / tool).is_file():
            unknown.append(cmd.line)
        if tool in {"python", "python3", ".venv/bin/python", "bash"} and len(cmd.argv) > 1:
            script = cmd.argv[1]
            if script.startswith("-"):
                continue
            if not _example_service_path(script) and not (REPO_ROOT / script).is_file():
                missing.append(cmd.line)
    assert not missing, f"{doc.name}: scripts that do not exist: {missing}"
    assert not unknown, f"{doc.name}: commands starting with an unknown program: {unknown}"


@pytest.mark.parametrize("doc", DOCS, ids=DOC_IDS)
def test_every_repository_path_named_exists(doc) -> None:
    paths = repo_paths(doc.read_text())
    assert paths, f"{doc.name} names no repository path at all"
    missing = sorted(p for p in paths if not _example_service_path(p) and not as_path(p).exists())
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_readme_starts_with_the_two_commands_and_make_test_is_what_ci_runs() -> None:
    text = README.read_text()
    first = shell_blocks(text)[0]
    lines = [ln.split("#", 1)[0].strip() for ln in first.splitlines() if ln.strip()]
    assert lines[:2] == ["make up", "make test"], lines
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M), ".ci/run no longer runs `make test`"
    # The picture comes right after the introduction, before the commands.
    assert text.index("docs/architecture.png") < text.index("make up")


def test_readme_has_every_section_a_newcomer_needs() -> None:
    text = README.read_text()
    for heading in (
        "Quickstart",
        "Tour of the folders",
        "Going to AWS",
        "Daily flow",
        "Day-2 operations",
        "Add a third service",
        "Troubleshooting",
    ):
        assert section(text, heading).strip()
    ops = section(text, "Day-2 operations")
    for topic in (
        "Roll back",
        "Rotate a secret",
        "Scale a service",
        "Read logs",
        "Alarms and the dashboard",
        "anomaly",
        "point-in-time",
        "Tear an environment down",
    ):
        assert topic.lower() in ops.lower(), f"Day-2 operations does not cover {topic!r}"


def test_spanish_readme_covers_quickstart_and_daily_flow_with_the_same_commands() -> None:
    es = README_ES.read_text()
    en = README.read_text()
    assert "make up" in shell_blocks(es)[0]
    assert "make test" in shell_blocks(es)[0]
    en_flow = {" ".join(c.argv) for c in commands(section(en, "Daily flow")) if c.argv[0] in {"make", "git"}}
    es_flow = {
        " ".join(c.argv) for c in commands(section(es, "Flujo diario")) if c.argv[0] in {"make", "git"}
    }
    assert en_flow
    assert en_flow <= es_flow, f"missing in README.es.md: {en_flow - es_flow}"


def test_design_traces_every_requirement_to_code_and_tests() -> None:
    text = DESIGN.read_text()
    table = section(text, "Requirements traced")
    rows = [r for r in table.splitlines() if r.startswith("|") and not set(r) <= set("|-: ")][1:]
    assert len(rows) >= 15
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) >= 3, row
        assert repo_paths(cells[1]), f"no implementing file named in: {row}"
        assert any(p.startswith(("tests/", "services/")) and "test" in p for p in repo_paths(cells[2])) or (
            "make " in cells[2]
        ), f"no test named in: {row}"
    for requirement in (
        "High availability",
        "Terraform",
        "Containerized",
        "GitHub Actions",
        "S3",
        "DynamoDB",
        "Secrets",
        "Multi-environment",
        "IAM roles",
        "Security groups",
        "CloudWatch",
        "WAF",
        "CloudFront",
        "Route 53",
        "Static analysis",
        "Unit tests",
    ):
        assert requirement.lower() in table.lower(), f"requirement {requirement!r} is not traced"
    assert "```mermaid" in text
    assert "docs/architecture.png" in text


def test_make_test_builds_the_checkov_venv_only_when_the_tests_need_it(tmp_path) -> None:
    """The add-a-service guide's `make test PYTEST_ARGS=services/<name>` does not build checkov's venv."""
    name, _ = added_service_example()
    guide = section(README.read_text(), "Add a third service")
    assert f"make test PYTEST_ARGS=services/{name}" in guide
    missing = tmp_path / "no-checkov-venv"

    def builds_checkov(*assigns: str) -> bool:
        dry = subprocess.run(
            [need("make"), "-C", str(REPO_ROOT), "-n", "test", f"CHECKOV_VENV={missing}", *assigns],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return f"venv {missing}" in dry.stdout

    assert not builds_checkov(f"PYTEST_ARGS=services/{name}")
    assert not builds_checkov("PYTEST_ARGS=-x services/catalog tests/docs")
    assert builds_checkov()
    assert builds_checkov("PYTEST_ARGS=tests/infra/test_policy_checks.py")
    assert builds_checkov("PYTEST_ARGS=-k policy")


def test_rotate_a_secret_names_where_each_deploy_workflow_syncs_secrets() -> None:
    rotate = " ".join(section(README.read_text(), "Rotate a secret").split())

    def jobs(workflow: str) -> dict:
        return yaml.safe_load((REPO_ROOT / ".github" / "workflows" / f"{workflow}.yml").read_text())["jobs"]

    assert "secrets" in jobs("main"), "main.yml has no secrets job"
    assert "`main` run (or merge; its `secrets` job)" in rotate
    release_steps = [s.get("name") for s in jobs("release")["release"]["steps"]]
    assert "Sync secrets" in release_steps, "release.yml's release job has no Sync secrets step"
    assert "*Sync secrets* step of its one approved `release` job" in rotate
    assert "no secrets job" not in rotate
