"""podman with this repository's configuration and storage (no Docker engine needed).

Images live under ``$STOREFRONT_CONTAINERS_DIR`` (default /var/tmp/storefront-containers, so they
survive between runs on the same machine); the matching storage.conf is written there and passed to
podman through CONTAINERS_STORAGE_CONF, next to infra/containers/containers.conf.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import manifests

REPO_ROOT = manifests.REPO_ROOT
CONTAINERS_CONF = REPO_ROOT / "infra" / "containers" / "containers.conf"
# Under /var/tmp on purpose: kept between runs on the same machine (not wiped at boot like /tmp).
DEFAULT_STORAGE_DIR = Path("/var/tmp/storefront-containers")  # noqa: S108 # nosec B108


class ImageError(RuntimeError):
    """A build or run step failed; the message is one line a person can act on."""


def storage_dir() -> Path:
    return Path(os.environ.get("STOREFRONT_CONTAINERS_DIR", str(DEFAULT_STORAGE_DIR))).resolve()


def run_dir(root: Path) -> Path:
    """Run-time state (locks, mounts): on tmpfs so a restarted machine starts clean."""
    key = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    # tmpfs, root-owned podman state only (not a temporary file someone else could plant).
    shm = Path("/dev/shm")  # noqa: S108 # nosec B108
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else root
    return base / f"storefront-containers-{key}"


def storage_conf(root: Path | None = None) -> Path:
    """Write (if changed) and return the storage.conf that keeps images under ``root``."""
    root = root or storage_dir()
    run = run_dir(root)
    text = (
        "# Written by scripts/tooling/podman.py: podman image storage for this repository.\n"
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{root / "storage"}"\n'
        f'runroot = "{run / "run"}"\n'
    )
    conf = root / "storage.conf"
    root.mkdir(parents=True, exist_ok=True)
    if not conf.exists() or conf.read_text() != text:
        tmp = conf.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(conf)
    return conf


def podman_env(root: Path | None = None) -> dict[str, str]:
    """Environment for a podman child process: our containers.conf and storage."""
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    env["CONTAINERS_STORAGE_CONF"] = str(storage_conf(root))
    return env


def podman_argv(*args: str, root: Path | None = None) -> list[str]:
    root = root or storage_dir()
    tmpdir = run_dir(root) / "libpod"
    return ["podman", "--runtime", "runc", "--tmpdir", str(tmpdir), *args]


def podman(
    *args: str,
    root: Path | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = 600,
) -> subprocess.CompletedProcess[str]:
    """Run podman; on failure raise ImageError with the command and the end of its output."""
    argv = podman_argv(*args, root=root)
    result = subprocess.run(
        argv,
        env=podman_env(root),
        text=True,
        capture_output=capture,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout or "").strip().splitlines()[-5:]
        raise ImageError(f"podman {' '.join(args[:2])} failed ({result.returncode}): {' | '.join(tail)}")
    return result


def unavailable_reason() -> str | None:
    """None when podman can build and run containers here, else why not (one line)."""
    if shutil.which("podman") is None:
        return "podman is not installed (Debian package podman; see scripts/install_system_deps.sh)"
    if shutil.which("runc") is None:
        return "runc is not installed (Debian package runc)"
    try:
        result = podman("info", "--format", "{{.Store.GraphDriverName}}", check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"podman does not answer: {exc}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"podman cannot run here: {last}"
    return None


def image_exists(ref: str, root: Path | None = None) -> bool:
    return podman("image", "exists", ref, root=root, check=False).returncode == 0


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock between processes (parallel test workers, two `make` runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_checked(argv: Sequence[str], what: str, timeout: float = 900, **kw) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise ImageError(f"{what} failed ({result.returncode}): {' | '.join(tail)}")
