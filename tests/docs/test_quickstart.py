"""The README's Quickstart, run as written, in a copy of the repository.

In the copy (what a clone holds; the tooling venv linked), with the port variables the Quickstart
documents set to free ports:
- `make up` (the first command) brings the stack up and prints each part the README's sample shows;
- the shell examples (source the secrets, `EDGE=...${LOCAL_EDGE_PORT:-8080}`, the curl calls) run
  unchanged and create the product they post;
- the inline commands it names: `make status` (all running), `make logs` (readable lines),
  `make down`, then `make status` on the stopped stack (exit 0, no make error).
`make test` (the second command) is this suite itself. The first-run time the README states
(venv creation) was measured from a fresh clone and is not re-measured here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import manifests
import pytest

from tests.docs.docmd import README, section, shell_blocks
from tests.support.procs import free_port
from tests.support.repocopy import copy_repo
from tests.support.tools import need, output_dir

pytestmark = pytest.mark.slow


def _ports() -> dict[str, str]:
    ports: set[int] = set()
    while len(ports) < 2 + len(manifests.load_all()):
        ports.add(free_port())
    it = iter(sorted(ports))
    return {
        "LOCAL_EDGE_PORT": str(next(it)),
        "LOCAL_AWS_PORT": str(next(it)),
        **{f"LOCAL_PORT_{m.name.upper().replace('-', '_')}": str(next(it)) for m in manifests.load_all()},
    }


def test_quickstart_commands_work_as_written(tmp_path: Path) -> None:
    quick = section(README.read_text(), "Quickstart")
    blocks = shell_blocks(quick)
    first = [ln.split("#", 1)[0].strip() for ln in blocks[0].splitlines() if ln.strip()]
    assert first[:2] == ["make up", "make test"]
    # The port override the Quickstart documents names every variable the stack reads.
    override = next(b for b in blocks if "LOCAL_EDGE_PORT=" in b)
    ports = _ports()
    assert set(re.findall(r"\b(LOCAL_[A-Z_]+)=", override)) == set(ports)
    curl_block = next(b for b in blocks if "curl" in b)
    assert "8080/" not in curl_block.replace("${LOCAL_EDGE_PORT:-8080}", ""), "hard-coded port"

    copy = copy_repo(tmp_path / "clone")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCAL_", "AWS_"))} | ports
    logs = output_dir("docs-quickstart")

    def run(command: str, timeout: float = 180) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        name = re.sub(r"\W+", "-", command[:40]).strip("-")
        (logs / f"{name}.log").write_text(result.stdout + result.stderr)
        return result

    up = run("make up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        # Each part of the README's sample output shows up, in that order.
        sample = next(b for lang, b in re.findall(r"```(\w*)\n(.*?)```", quick, re.S) if lang == "text")
        labels = [m.group(1) for m in re.finditer(r"^  ([a-z][a-z ()]+?)\s{2,}", sample, re.M)]
        assert len(labels) >= 6, labels
        positions = [up.stdout.find(f"  {label}") for label in labels]
        assert -1 not in positions, (labels, up.stdout)
        assert positions == sorted(positions), (labels, up.stdout)
        assert f"Open:      http://127.0.0.1:{ports['LOCAL_EDGE_PORT']}/" in up.stdout

        shell = run(curl_block)
        assert shell.returncode == 0, shell.stdout + shell.stderr
        # curl prints each JSON body without a newline: read them one after the other.
        decoder, text, bodies = json.JSONDecoder(), shell.stdout.strip(), []
        while text:
            body, end = decoder.raw_decode(text)
            bodies.append(body)
            text = text[end:].lstrip()
        listed, created, order, orders = bodies
        assert listed["items"], "the demo products are listed"
        assert created["sku"] == "MUG-1", created
        assert order["status"] == "confirmed", order
        assert [o["id"] for o in orders["items"]] == [order["id"]], orders

        status = run("make status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "All running" in status.stdout
        readable = run("make logs NAME=catalog")
        assert readable.returncode == 0
        body = readable.stdout.splitlines()[1:]
        assert body, readable.stdout
        assert not [ln for ln in body if ln.startswith("{")], "make logs shows JSON lines"
        assert run("make logs JSON=1 NAME=catalog").stdout.splitlines()[1].startswith("{")
    finally:
        down = run("make down", timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    stopped = run("make status")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "Error" not in stopped.stderr
    assert "not running" in stopped.stdout
    assert need("make")
