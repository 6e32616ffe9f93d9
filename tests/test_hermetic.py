"""The suite does not depend on the caller's environment (conftest.py removes what would leak in).

A person following the README may have exported LOCAL_EDGE_PORT, LOCAL_PORT_<SERVICE>,
LOCAL_STATE_DIR (Troubleshooting suggests it), or make variables such as NAME, PORT or ENV. The
tests that read ports, manifests, the Makefile and the docs must give the same result anyway.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.tools import REPO_ROOT, caller_variables

# Tests whose outcome once depended on such variables (fast ones; xdist off, no cache written).
SENSITIVE = [
    "tests/local/test_edge_config.py",
    "tests/test_manifests.py",
    "tests/docs/test_new_service_cli.py",
    "tests/docs/test_docs_references.py",
    "tests/docs/test_diagram.py",
]
POLLUTED = {
    "LOCAL_EDGE_PORT": "19990",
    "LOCAL_AWS_PORT": "19991",
    "LOCAL_PORT_CATALOG": "19992",
    "LOCAL_PORT_ORDERS": "19993",
    "LOCAL_STATE_DIR": "/nonexistent/state",
    "LOCAL_EDGE_MAX_BODY": "1KB",
    "NAME": "catalog",
    "PORT": "8081",
    "ENV": "prod",
    "DIAGRAM_OUT": "/nonexistent/architecture.png",
    "MAKEFLAGS": "NAME=catalog PORT=8081",
    "TF_VAR_availability_zones": '["xx-nowhere-1a"]',  # the stack's AZ input (a wrong region)
}


def test_this_process_runs_without_the_callers_variables() -> None:
    assert caller_variables(os.environ) == []
    assert caller_variables({**dict.fromkeys(POLLUTED), "PATH": "", "CI": ""}) == sorted(POLLUTED)


def test_sensitive_tests_pass_with_non_default_variables_exported() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", *SENSITIVE],
        cwd=REPO_ROOT,
        env={**os.environ, **POLLUTED},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
