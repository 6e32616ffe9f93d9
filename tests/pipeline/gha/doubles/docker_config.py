"""Where the docker CLI double keeps its logins, and the build-push double reads them.

docker keeps them in $DOCKER_CONFIG/config.json, else ~/.docker/config.json. On GitHub every job
runs on a runner of its own, so one job's login (amazon-ecr-login) and its post-step logout never
touch another job's. act runs all the jobs of a run on this one machine with one HOME: two matrix
jobs would share one file, and the first to finish would log the other out before its push. So,
when DOCKER_CONFIG is not set, the doubles keep each job's logins under that job's RUNNER_TEMP
(act makes one per job, as GitHub does: "emptied at the beginning and end of each job"), and fall
back to HOME outside a job (the proof's own seeding, tests/pipeline/gha/aws_setup.py).
"""

from __future__ import annotations

import os
from pathlib import Path


def config_file() -> Path:
    if os.environ.get("DOCKER_CONFIG"):
        return Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    runner_temp = os.environ.get("RUNNER_TEMP")
    base = Path(runner_temp) / ".docker" if runner_temp else Path.home() / ".docker"
    return base / "config.json"
