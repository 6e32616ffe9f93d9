"""Test double of github/codeql-action/upload-sarif: validate SARIF files and POST them to the API."""

from __future__ import annotations

import base64
import gzip
import json
import os
import sys
import urllib.request
from pathlib import Path


def main() -> int:
    source = Path(os.environ["SARIF"])
    if not source.is_absolute():
        source = Path(os.environ["GITHUB_WORKSPACE"]) / source
    files = sorted(source.rglob("*.sarif")) if source.is_dir() else [source]
    if not files or not all(f.is_file() for f in files):
        print(f"::error::No SARIF files found to upload in {source}")
        return 1
    last = ""
    for path in files:
        data = json.loads(path.read_text())
        if data.get("version") != "2.1.0" or not isinstance(data.get("runs"), list):
            print(f"::error::{path} is not SARIF 2.1.0")
            return 1
        body = json.dumps(
            {
                "commit_sha": os.environ["GITHUB_SHA"],
                "ref": os.environ["GITHUB_REF"],
                "sarif": base64.b64encode(gzip.compress(path.read_bytes())).decode(),
                "tool_names": [r.get("tool", {}).get("driver", {}).get("name", "") for r in data["runs"]],
            }
        ).encode()
        url = f"{os.environ['GITHUB_API_URL']}/repos/{os.environ['GITHUB_REPOSITORY']}/code-scanning/sarifs"
        request = urllib.request.Request(  # noqa: S310 (the URL is the job's API base, loopback in the proof)
            url, data=body, method="POST", headers={"Authorization": f"token {os.environ['TOKEN']}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            last = json.loads(response.read())["id"]
        print(f"uploaded {path.name} ({len(data['runs'])} run(s))")
    with open(os.environ["GITHUB_OUTPUT"], "a") as fh:
        fh.write(f"sarif-id={last}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
