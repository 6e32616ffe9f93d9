"""Run schemathesis (all checks, bounded examples) against a running service's OpenAPI document."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.tools import output_dir

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
SEED = os.environ.get("FUZZ_SEED", "20261127")
# Long runs (e.g. FUZZ_MAX_EXAMPLES=200 for 1,000+ cases per service) need a longer bound.
TIMEOUT = float(os.environ.get("FUZZ_TIMEOUT_SECONDS", "240"))


def run_schemathesis(openapi_url: str, headers: dict[str, str], name: str) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    argv = [
        str(bin_dir / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        openapi_url,
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-dir",
        str(output_dir("schemathesis", name)),
    ]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    # Run inside test-output/ so schemathesis' own cache never lands in the repository.
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=output_dir("schemathesis", name)
    )
    # The run's own figures (test cases generated, failures), for the report and the benchmarks.
    lines = result.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "Test cases:" in line), len(lines))
    summary = [line.strip() for line in lines[start : start + 4] if line.strip()]
    print(f"\n[schemathesis {name}] " + " | ".join(summary))
    return result
