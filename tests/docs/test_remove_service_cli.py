"""remove_service.py refuses what it must not remove (one line, nothing changed); a stopped stack's
status is no error (fast).

The full round trip (scaffold, serve, remove: process, secrets, route, picture) is
tests/docs/test_new_service.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import manifests
import pytest
import remove_service

from tests.support.tools import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "remove_service.py"


def snapshot() -> list[str]:
    return sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "services").rglob("*.yaml"))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no-such-service", "no service named 'no-such-service'"),
        ("common", "no service named 'common'"),
        ("../web", "no service named '../web'"),
        ("catalog", "catalog is a dependency of orders"),
    ],
)
def test_refused_with_one_line_and_exit_2(tmp_path: Path, name: str, message: str) -> None:
    assert any(d.service == "catalog" for d in manifests.get("orders").dependencies)
    before = snapshot()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), name],
        env={"PATH": "/usr/bin:/bin", "LOCAL_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("remove_service: ")
    assert message in lines[0]
    assert result.stdout == ""
    assert snapshot() == before
    assert not (tmp_path / "state").exists()


def test_status_of_a_stopped_stack_is_not_an_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "localstack.py"), "status"],
        env={"PATH": "/usr/bin:/bin", "LOCAL_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "Local stack is not running; `make up` starts it."


def test_without_graphviz_nothing_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    def guard(*args, **kwargs) -> None:
        raise AssertionError("remove_service deleted something before checking for graphviz")

    monkeypatch.setattr(remove_service.shutil, "which", lambda tool: None)
    monkeypatch.setattr(remove_service.shutil, "rmtree", guard)
    monkeypatch.setattr(remove_service.Processes, "stop", guard)
    with pytest.raises(remove_service.RemoveError, match="graphviz 'dot' not found") as info:
        remove_service.remove("orders")
    assert info.value.code == 1
    assert (REPO_ROOT / "services" / "orders" / "service.yaml").is_file()
