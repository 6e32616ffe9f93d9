"""The AWS emulator (moto server) for tests: started by the test run itself, on loopback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import emulator
import httpx

from tests.support.procs import Proc, free_port, wait_http

REGION = "eu-west-1"

# Credentials and settings that make every AWS SDK talk to the emulator only.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # not a secret: the emulator accepts anything
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_MAX_ATTEMPTS": "1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class MotoServer:
    """One emulator process (scripts/emulator.py: moto, one call at a time) on a free loopback port."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = Proc(
            emulator.argv(sys.executable, self.port),
            log_dir / f"moto-{self.port}.log",
            env={**os.environ, **FAKE_AWS_ENV},
        )
        wait_http(f"{self.url}/moto-api/", timeout=30)

    @property
    def env(self) -> dict[str, str]:
        """Environment for a child process (or boto3) that must use this emulator."""
        return {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL": self.url}

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        self.proc.stop()
