"""Fixtures and rules shared by every test in the repository (tests/ and services/*/tests/)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
# Service packages, the shared service library and the scripts are importable in tests.
for path in [
    ROOT,
    ROOT / "scripts",
    ROOT / "services" / "common",
    *sorted(p.parent for p in (ROOT / "services").glob("*/service.yaml")),
]:
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from tests.support.aws import FAKE_AWS_ENV, MotoServer  # noqa: E402
from tests.support.shared import missing_reason, shared_dir  # noqa: E402
from tests.support.tools import caller_variables, in_ci, output_dir  # noqa: E402

# The schedule under xdist (the files that compute most first, then the longest: tests/support/timing.py),
# and a per-folder durations table after every run.
pytest_plugins = ["tests.support.timing"]

# No test may ever reach real AWS: fake credentials, no profiles, fail fast.
for _k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_k, None)
os.environ.update(FAKE_AWS_ENV)
# Hermetic: what a person exported for their own `make up` or `make` calls (LOCAL_EDGE_PORT,
# LOCAL_PORT_<SERVICE>, LOCAL_STATE_DIR, NAME, PORT, ENV, ...) never reaches the code under test.
for _k in caller_variables(os.environ):
    os.environ.pop(_k, None)


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """A moto server for this test session (one per xdist worker)."""
    server = MotoServer(output_dir("logs"))
    yield server
    server.stop()


@pytest.fixture
def aws(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """Point boto3 in this process at the session's emulator for one test."""
    for key, value in moto.env.items():
        monkeypatch.setenv(key, value)
    return moto


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect, with one printed line each, tests whose part of the shared folder is absent."""
    keep, dropped, reasons = [], [], {}
    for item in items:
        marker = item.get_closest_marker("needs_shared")
        reason = missing_reason(*marker.args) if marker else None
        if reason is None:
            keep.append(item)
        else:
            dropped.append(item)
            reasons[reason] = reasons.get(reason, 0) + 1
    if not dropped:
        return
    config.hook.pytest_deselected(items=dropped)
    items[:] = keep
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for reason, count in reasons.items():  # under xdist the header below says it on the controller
        if reporter is not None:
            reporter.write_line(f"DESELECTED {count} test(s): {reason}", yellow=True)


def pytest_report_header(config: pytest.Config) -> str:
    """One line, on every run (xdist included), saying where the shared folder is or that it is absent."""
    reason = missing_reason()
    if reason is None:
        return f"shared folder: {shared_dir()}"
    return f"shared folder absent: tests marked needs_shared are DESELECTED ({reason})"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """In CI a skipped test is a failure: every check named in the README must run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if in_ci() and skipped:
        terminalreporter.write_line(
            f"FAILED: {len(skipped)} test(s) skipped in CI; nothing may be skipped here", red=True
        )


def pytest_sessionfinish(session, exitstatus) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and in_ci() and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1
