"""Container images of the services, built and run with podman (no Docker engine needed).

Every fact about a service (package, port, health path) comes from its manifest through
``manifests``; this script turns them into build args for services/<name>/Dockerfile.

CLI (the Makefile's ``images``, ``image-report`` and ``base-image`` targets call it)::

    python scripts/images.py base [--flavour minbase|runtime|stripped] [--force]
    python scripts/images.py build catalog|all [--base local|stripped|official] [--tag TAG]
    python scripts/images.py report [--json]
    python scripts/images.py run catalog [--port HOST_PORT] [-e NAME=VALUE ...]
    python scripts/images.py build-args catalog [--base-image REF] [--tag TAG]  # KEY=VALUE lines
    python scripts/images.py bench [--service NAME]   # base, cold and warm build times; base variants
    python scripts/images.py podman ARGS...   # podman with this repository's config and storage

Storage: images live under ``$STOREFRONT_CONTAINERS_DIR`` (default /var/tmp/storefront-containers,
so they survive between runs on the same machine); the matching storage.conf is written there and
passed to podman through CONTAINERS_STORAGE_CONF, next to infra/containers/containers.conf.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import manifests
from pydantic import BaseModel

REPO_ROOT = manifests.REPO_ROOT
SERVICES_DIR = manifests.SERVICES_DIR
CONTAINERS_CONF = REPO_ROOT / "infra" / "containers" / "containers.conf"
# Under /var/tmp on purpose: kept between runs on the same machine (not wiped at boot like /tmp).
DEFAULT_STORAGE_DIR = Path("/var/tmp/storefront-containers")  # noqa: S108 # nosec B108
DEFAULT_SUITE = "bookworm"
# The official slim image (short name: resolved by the machine's registries configuration).
OFFICIAL_BASE = "python:3.11-slim-bookworm"
# The only writable path a running service needs: a small private tmpfs inside the container.
TMPFS = "/tmp:rw,noexec,nosuid,nodev,size=16m"  # noqa: S108 # nosec B108
# The AWS APIs the services call (svc_common.dynamo makes their only client): the images keep
# botocore's models of these only, about 21 MB less (tests/images: no other client in the code).
AWS_APIS = ("dynamodb",)
# The image runs as this user; never root. Also in the Dockerfiles' build arg default.
APP_UID = 10001
# Packages of the local base: the interpreter, venv support and binutils for the build stage (its
# `strip` removes debug info from the venv's native libraries), and a CA bundle.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "binutils")
# The runtime flavour keeps these and Debian's required/important packages, with their
# dependencies; dpkg purges the rest (venv support, binutils), so its package database stays
# exact: scanners see every package that is there and none that is not.
_RUNTIME_ROOTS = ("python3", "ca-certificates")
# Required by Debian for a system that installs packages; a container started read-only as a
# non-root user installs none, so the runtime flavour purges it too (with what only it needs).
_RUNTIME_DROP = frozenset({"apt"})
# Part of the base tags: changing the package lists above makes every machine build new bases.
BASE_REVISION = 2
# minbase: the build stage's base; runtime: the default runtime base (minbase with dpkg-purged
# build tools); stripped: only the interpreter's files, no shell, no package database.
BASE_FLAVOURS = ("minbase", "runtime", "stripped")
# Packages the stripped runtime base keeps (with their dependencies, minus _STRIP_NEVER_KEEP).
_STRIPPED_ROOTS = ("python3", "base-files", "netbase", "tzdata", "media-types", "libc-bin")
_STRIP_NEVER_KEEP = frozenset({"dpkg", "debconf", "perl-base", "apt", "bash", "coreutils", "tar"})
# Folders of a debootstrap tree that no container needs.
_BASE_CLEAN = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf",
    "var/log",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
)


class ImageError(RuntimeError):
    """A build or run step failed; the message is one line a person can act on."""


# ---------------------------------------------------------------------------------------------
# podman with our configuration and storage


def storage_dir() -> Path:
    return Path(os.environ.get("STOREFRONT_CONTAINERS_DIR", str(DEFAULT_STORAGE_DIR))).resolve()


def _run_dir(root: Path) -> Path:
    """Run-time state (locks, mounts): on tmpfs so a restarted machine starts clean."""
    key = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    # tmpfs, root-owned podman state only (not a temporary file someone else could plant).
    shm = Path("/dev/shm")  # noqa: S108 # nosec B108
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else root
    return base / f"storefront-containers-{key}"


def storage_conf(root: Path | None = None) -> Path:
    """Write (if changed) and return the storage.conf that keeps images under ``root``."""
    root = root or storage_dir()
    run = _run_dir(root)
    text = (
        "# Written by scripts/images.py: podman image storage for this repository.\n"
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
    tmpdir = _run_dir(root) / "libpod"
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


# ---------------------------------------------------------------------------------------------
# local base image (debootstrap)


def base_ref(suite: str = DEFAULT_SUITE, flavour: str = "minbase") -> str:
    suffix = "" if flavour == "minbase" else f"-{flavour}"
    return f"localhost/{manifests.project_name()}-base:{suite}-r{BASE_REVISION}{suffix}"


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields:
            yield fields


def apt_mirror(suite: str, apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses for ``suite`` (main component)."""
    override = os.environ.get("STOREFRONT_DEBIAN_MIRROR", "").strip()
    if override:
        return override
    candidates: list[tuple[str, list[str], list[str]]] = []  # (uri, suites, components)
    one_line = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            line = re.sub(r"\[[^\]]*\]", " ", line)  # drop [arch=... signed-by=...]
            parts = line.split()
            if len(parts) >= 4 and parts[0] == "deb":
                candidates.append((parts[1], [parts[2]], parts[3:]))
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for st in _deb822_stanzas(path.read_text(errors="replace")):
            if "deb" not in st.get("types", "").split() or st.get("enabled", "yes").lower() == "no":
                continue
            for uri in st.get("uris", "").split():
                candidates.append((uri, st.get("suites", "").split(), st.get("components", "").split()))
    for uri, suites, components in candidates:
        if suite in suites and "main" in components and uri.startswith(("http://", "https://", "file:")):
            return uri
    raise ImageError(
        f"no apt source for suite {suite!r} (main) in {apt_dir}; set STOREFRONT_DEBIAN_MIRROR to a mirror URL"
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock between processes (parallel test workers, two `make` runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(argv: Sequence[str], what: str, timeout: float = 900, **kw) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise ImageError(f"{what} failed ({result.returncode}): {' | '.join(tail)}")


def _debootstrap(rootfs: Path, suite: str) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed (Debian package debootstrap)")
    mirror = apt_mirror(suite)
    _run(
        [
            "debootstrap",
            "--variant=minbase",
            "--components=main",
            f"--include={','.join(BASE_PACKAGES)}",
            suite,
            str(rootfs),
            mirror,
        ],
        f"debootstrap {suite}",
    )
    # The host's extra CA certificates (a TLS-intercepting proxy, a corporate CA) so that pip in
    # the build stage trusts the same network the host does.
    extra = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    target = rootfs / "usr/local/share/ca-certificates"
    target.mkdir(parents=True, exist_ok=True)
    for crt in extra:
        shutil.copy2(crt, target / crt.name)
    _run(["chroot", str(rootfs), "update-ca-certificates", "--fresh"], "update-ca-certificates")
    for rel in _BASE_CLEAN:
        _empty(rootfs / rel)


def _dpkg_status(rootfs: Path) -> dict[str, list[str]]:
    """Installed package -> names it depends on (alternatives: the first), from dpkg's status."""
    deps: dict[str, list[str]] = {}
    status = (rootfs / "var/lib/dpkg/status").read_text(errors="replace")
    for st in _deb822_stanzas(status):
        if "install ok installed" not in st.get("status", ""):
            continue
        names: list[str] = []
        for field in ("pre-depends", "depends"):
            for clause in filter(None, (c.strip() for c in st.get(field, "").split(","))):
                first = clause.split("|")[0].strip()
                names.append(re.split(r"[\s:(]", first, maxsplit=1)[0])
        deps[st["package"]] = names
    return deps


def build_only_packages(status: str) -> list[str]:
    """Installed packages (dpkg status text) that neither _RUNTIME_ROOTS nor Debian's required,
    important or essential packages (but _RUNTIME_DROP) need, directly or not; sorted."""
    installed = [st for st in _deb822_stanzas(status) if "install ok installed" in st.get("status", "")]
    providers: dict[str, set[str]] = {}
    for st in installed:
        providers.setdefault(st["package"], set()).add(st["package"])
        for virtual in filter(None, (v.strip() for v in st.get("provides", "").split(","))):
            providers.setdefault(re.split(r"[\s:(]", virtual, maxsplit=1)[0], set()).add(st["package"])
    deps: dict[str, list[str]] = {}  # every installed alternative of every clause: keep more, never less
    roots = set(_RUNTIME_ROOTS)
    for st in installed:
        names = [
            re.split(r"[\s:(]", alt.strip(), maxsplit=1)[0]
            for field in ("pre-depends", "depends")
            for clause in st.get(field, "").split(",")
            for alt in clause.split("|")
            if alt.strip()
        ]
        deps[st["package"]] = [p for n in names for p in sorted(providers.get(n, ()))]
        required = st.get("priority") in ("required", "important") or st.get("essential") == "yes"
        if required and st["package"] not in _RUNTIME_DROP:
            roots.add(st["package"])
    keep: set[str] = set()
    todo = [p for p in roots if p in deps]
    while todo:
        name = todo.pop()
        if name in keep or name not in deps:
            continue
        keep.add(name)
        todo.extend(deps[name])
    return sorted(set(deps) - keep)


def _purge_build_only(rootfs: Path) -> list[str]:
    """Purge with dpkg every package the runtime does not need; the names purged."""
    purge = build_only_packages((rootfs / "var/lib/dpkg/status").read_text(errors="replace"))
    if purge:  # dpkg refuses (and the build fails) if a kept package still needs one of them
        _run(["chroot", str(rootfs), "dpkg", "--purge", *purge], "dpkg --purge of build-only packages")
    for rel in _BASE_CLEAN:
        _empty(rootfs / rel)
    return purge


def _empty(folder: Path) -> None:
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def _strip_to_runtime(full: Path, stripped: Path) -> None:
    """Copy only the interpreter's package closure (no shell, no dpkg, no apt, no perl)."""
    deps = _dpkg_status(full)
    keep: set[str] = set()
    todo = [p for p in _STRIPPED_ROOTS if p in deps]
    while todo:
        name = todo.pop()
        if name in keep or name in _STRIP_NEVER_KEEP or name not in deps:
            continue
        keep.add(name)
        todo.extend(deps[name])
    entries: set[str] = {".", "./tmp", "./bin", "./lib", "./lib64", "./sbin", "./etc", "./etc/ssl"}
    info = full / "var/lib/dpkg/info"
    for name in keep:
        for lst in (info / f"{name}.list", info / f"{name}:amd64.list"):
            if lst.is_file():
                entries.update("." + line.strip() for line in lst.read_text().splitlines() if line.strip())
    extra = ["etc/passwd", "etc/group", "etc/nsswitch.conf", "etc/ld.so.cache", "etc/ssl/certs"]
    extra += [str(p.relative_to(full)) for p in (full / "etc/ssl/certs").iterdir()]
    entries.update("./" + e for e in extra)
    present: set[str] = set()
    for entry in entries:
        path = full / entry
        if not (path.exists() or path.is_symlink()):
            continue
        # Debian's usrmerge: /lib, /bin, ... are symlinks into /usr; list the real location so
        # that extraction never has to go through a symlink.
        real_parent = path.parent.resolve()
        if entry not in {".", "./bin", "./lib", "./lib64", "./sbin"} and real_parent.is_relative_to(full):
            entry = "./" + str((real_parent / path.name).relative_to(full))
        present.add(entry)
    listing = stripped.parent / "stripped.list"
    listing.write_text("\n".join(sorted(present)) + "\n")
    stripped.mkdir(parents=True, exist_ok=True)
    pack = subprocess.Popen(
        ["tar", "--numeric-owner", "--no-recursion", "-C", str(full), "-T", str(listing), "-cf", "-"],
        stdout=subprocess.PIPE,
    )
    try:
        _run(
            ["tar", "--numeric-owner", "-C", str(stripped), "-xpf", "-"],
            "copy stripped tree",
            stdin=pack.stdout,
        )
    finally:
        if pack.stdout:
            pack.stdout.close()
        pack.wait(60)


def _export(ref: str, rootfs: Path, root: Path | None) -> None:
    """Unpack an existing image's filesystem into ``rootfs``."""
    name = f"export-{os.getpid()}-{int(time.time())}"
    podman("create", "--name", name, "--no-healthcheck", ref, "/usr/bin/true", root=root)
    try:
        rootfs.mkdir(parents=True)
        out = subprocess.Popen(
            podman_argv("export", name, root=root), stdout=subprocess.PIPE, env=podman_env(root)
        )
        try:
            _run(
                ["tar", "--numeric-owner", "-C", str(rootfs), "-xpf", "-"], f"export {ref}", stdin=out.stdout
            )
        finally:
            if out.stdout:
                out.stdout.close()
            out.wait(60)
    finally:
        podman("rm", "--force", name, root=root, check=False)


def _import(rootfs: Path, ref: str, root: Path | None) -> None:
    tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    try:
        result = subprocess.run(
            podman_argv("import", "--change", "CMD=/usr/bin/python3", "-", ref, root=root),
            stdin=tar.stdout,
            env=podman_env(root),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        if tar.stdout:
            tar.stdout.close()
        tar.wait(60)
    if tar.returncode != 0 or result.returncode != 0:
        raise ImageError(f"podman import {ref} failed: {result.stderr.strip()[-300:]}")


def ensure_base(
    suite: str = DEFAULT_SUITE, flavour: str = "minbase", force: bool = False, root: Path | None = None
) -> str:
    """Build the local base image unless it exists; safe to call from parallel processes."""
    if flavour not in BASE_FLAVOURS:
        raise ImageError(f"unknown base flavour {flavour!r} ({', '.join(BASE_FLAVOURS)})")
    ref = base_ref(suite, flavour)
    root = root or storage_dir()
    if not force and image_exists(ref, root):
        return ref
    with _file_lock(root / "locks" / f"base-{suite}.lock"):
        if not force and image_exists(ref, root):  # another process built it while we waited
            return ref
        if os.geteuid() != 0:
            raise ImageError("building the local base needs root (debootstrap, chroot)")
        work = Path(tempfile.mkdtemp(prefix="base-", dir=root))
        try:
            full = work / "rootfs"
            minbase = base_ref(suite, "minbase")
            if flavour == "minbase" or force or not image_exists(minbase, root):
                _debootstrap(full, suite)
                _import(full, minbase, root)
            else:
                _export(minbase, full, root)
            if flavour == "runtime":
                _purge_build_only(full)
                _import(full, ref, root)
            if flavour == "stripped":
                stripped = work / "stripped"
                stripped.mkdir()
                _strip_to_runtime(full, stripped)
                _import(stripped, ref, root)
        finally:
            _unmount_below(work)  # a failed debootstrap can leave /proc or /sys mounted inside
            shutil.rmtree(work, ignore_errors=True)
    return ref


def _unmount_below(path: Path) -> None:
    prefix = str(path.resolve()) + "/"
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return
    for mount in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", mount], capture_output=True, check=False, timeout=60)


# ---------------------------------------------------------------------------------------------
# service images


def image_ref(service: str, tag: str = "local") -> str:
    return f"localhost/{manifests.project_name()}-{service}:{tag}"


def _git(*args: str) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def source_url() -> str:
    """Where the image's source lives: $IMAGE_SOURCE (CI), else the git remote, else 'local'."""
    return os.environ.get("IMAGE_SOURCE", "").strip() or _git("remote", "get-url", "origin") or "local"


def revision() -> str:
    rev = _git("rev-parse", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--", "services")
    return f"{rev}-dirty" if dirty else rev


def build_args(manifest: manifests.Manifest, base: str, tag: str) -> dict[str, str]:
    """Everything the Dockerfile needs to know, from the manifest and the repository."""
    return {
        "BASE_IMAGE": base,
        "SERVICE": manifest.name,
        "PACKAGE": manifest.package,
        "PORT": str(manifest.port),
        "HEALTH_PATH": manifest.health_path,
        "APP_UID": str(APP_UID),
        "AWS_APIS": " ".join(AWS_APIS),
        "SOURCE": source_url(),
        "REVISION": revision(),
        "VERSION": tag,
        "TITLE": f"{manifests.project_name()}-{manifest.name}",
        "DESCRIPTION": manifest.description,
    }


def check_sources(manifest: manifests.Manifest, context: Path = SERVICES_DIR) -> None:
    """Fail with one clear line when something the image needs is missing from the build context."""
    service_dir = context / manifest.name
    needed = [
        service_dir / "Dockerfile",
        service_dir / "requirements.txt",
        service_dir / manifest.package / "main.py",
        context / "common" / "svc_common" / "serve.py",
        context / "common" / "svc_common" / "healthcheck.py",
    ]
    missing = [f"services/{p.relative_to(context)}" for p in needed if not p.is_file()]
    if missing:
        raise ImageError(f"{manifest.name}: cannot build, missing {', '.join(missing)}")


class BuildResult(BaseModel):
    service: str
    image: str
    base: str
    seconds: float


def resolve_base(base: str, root: Path | None = None) -> tuple[str, str]:
    """(build-stage base, runtime-stage base) for --base local|stripped|official."""
    if base == "local":
        return ensure_base(root=root), ensure_base(flavour="runtime", root=root)
    if base == "stripped":
        full = ensure_base(root=root)
        return full, ensure_base(flavour="stripped", root=root)
    if base == "official":
        return OFFICIAL_BASE, OFFICIAL_BASE
    raise ImageError(f"unknown base {base!r} (local, stripped or official)")


def build(
    service: str,
    base: str = "local",
    tag: str = "local",
    root: Path | None = None,
    quiet: bool = True,
    context: Path = SERVICES_DIR,
) -> BuildResult:
    """Build ``service``'s image from ``context`` (the services/ folder, or a copy of it)."""
    manifest = manifests.get(service)
    check_sources(manifest, context)
    build_base, runtime_base = resolve_base(base, root)
    ref = image_ref(service, tag)
    args = build_args(manifest, build_base, tag)
    args["RUNTIME_IMAGE"] = runtime_base
    argv = ["build", "--network", "host", "--pull=never" if base != "official" else "--pull=missing"]
    argv += ["--layers", "--format", "docker", "-f", str(context / service / "Dockerfile"), "-t", ref]
    for key, value in args.items():
        argv += ["--build-arg", f"{key}={value}"]
    argv.append(str(context))
    started = time.monotonic()
    # One build of a service at a time per storage: a second build (another test worker, another
    # terminal) waits, then reuses the first one's layers instead of racing it to a second copy.
    with _file_lock((root or storage_dir()) / "locks" / f"build-{service}.lock"):
        result = podman(*argv, root=root, check=False, capture=quiet, timeout=1200)
    if result.returncode != 0:
        out = ((result.stdout or "") + (result.stderr or "")).strip().splitlines()
        detail = " | ".join(out[-6:]) if quiet else "see the build output above"
        raise ImageError(f"{service}: image build failed ({result.returncode}): {detail}")
    return BuildResult(service=service, image=ref, base=base, seconds=round(time.monotonic() - started, 1))


# ---------------------------------------------------------------------------------------------
# report


class ImageInfo(BaseModel):
    image: str
    size_bytes: int
    layers: int
    created: str

    @property
    def size_mb(self) -> float:
        return round(self.size_bytes / 1_000_000, 1)


def inspect(ref: str, root: Path | None = None) -> dict:
    out = podman("image", "inspect", ref, root=root).stdout
    return json.loads(out)[0]


def info(ref: str, root: Path | None = None) -> ImageInfo:
    data = inspect(ref, root)
    return ImageInfo(
        image=ref,
        size_bytes=int(data.get("Size", 0)),
        layers=len(data.get("RootFS", {}).get("Layers", [])),
        created=str(data.get("Created", "")),
    )


def report(tag: str = "local", root: Path | None = None) -> list[ImageInfo]:
    refs = [image_ref(m.name, tag) for m in manifests.load_all()]
    refs += [base_ref(DEFAULT_SUITE, f) for f in BASE_FLAVOURS]
    return [info(r, root) for r in refs if image_exists(r, root)]


# ---------------------------------------------------------------------------------------------
# run (a hardened container, as the tests and the local stack start it)


def run_argv(
    service: str,
    *,
    name: str,
    tag: str = "local",
    host_port: int | None = None,
    env: dict[str, str] | None = None,
    network: str = "slirp4netns",
) -> list[str]:
    """`podman run` arguments for a service container with the production hardening."""
    manifest = manifests.get(service)
    argv = [
        "run", "--detach", "--name", name,
        "--read-only", "--read-only-tmpfs=false",
        "--tmpfs", TMPFS,
        "--user", f"{APP_UID}:{APP_UID}",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
        "--network", network,
    ]  # fmt: skip
    if host_port is not None:
        argv += ["-p", f"127.0.0.1:{host_port}:{manifest.port}"]
    for key, value in (env or {}).items():
        argv += ["-e", f"{key}={value}"]
    argv.append(image_ref(service, tag))
    return argv


# ---------------------------------------------------------------------------------------------
# benchmark (numbers are printed, never asserted)


class BenchRow(BaseModel):
    step: str
    seconds: float
    image: str = ""
    size_mb: float = 0.0
    layers: int = 0


def bench(service: str, keep: bool = False) -> list[BenchRow]:
    """Time the base, a cold and a warm build in a scratch storage, and compare base variants."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-", dir=storage_dir()))
    rows: list[BenchRow] = []

    def row(step: str, seconds: float, ref: str = "") -> None:
        data = info(ref, scratch) if ref else None
        rows.append(
            BenchRow(
                step=step,
                seconds=round(seconds, 1),
                image=ref,
                size_mb=data.size_mb if data else 0.0,
                layers=data.layers if data else 0,
            )
        )
        print(f"  {step:52} {seconds:6.1f} s  {ref}", file=sys.stderr, flush=True)

    try:
        started = time.monotonic()
        ref = ensure_base(root=scratch)
        row("base image (debootstrap minbase + import)", time.monotonic() - started, ref)
        started = time.monotonic()
        ref = ensure_base(flavour="runtime", root=scratch)
        row("runtime base (minbase, build tools and apt purged)", time.monotonic() - started, ref)
        res = build(service, tag="bench", root=scratch)
        row("cold build (fresh storage, base present)", res.seconds, res.image)
        res = build(service, tag="bench", root=scratch)
        row("rebuild, nothing changed", res.seconds, res.image)
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            context = Path(tmp) / "services"
            shutil.copytree(SERVICES_DIR, context, ignore=shutil.ignore_patterns("__pycache__", "tests"))
            main = context / service / manifests.get(service).package / "main.py"
            main.write_text(main.read_text() + "\n# benchmark: a code change\n")
            res = build(service, tag="bench-warm", root=scratch, context=context)
            row("warm build (after a code change)", res.seconds, res.image)
        started = time.monotonic()
        ref = ensure_base(flavour="stripped", root=scratch)
        row("stripped base (from the minbase image)", time.monotonic() - started, ref)
        res = build(service, base="stripped", tag="bench-stripped", root=scratch)
        row("build on the stripped runtime base", res.seconds, res.image)
    finally:
        if keep:
            print(f"scratch storage kept: {scratch}", file=sys.stderr)
        else:
            podman("system", "reset", "--force", root=scratch, check=False, timeout=300)
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.rmtree(_run_dir(scratch), ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------------------------
# CLI


def _services(name: str) -> list[str]:
    names = [m.name for m in manifests.load_all()]
    if name == "all":
        return names
    if name not in names:
        raise ImageError(f"no service named {name!r} (one of: {', '.join(names)}, all)")
    return [name]


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("base", help="build the local debootstrap base image (cached)")
    b.add_argument("--suite", default=DEFAULT_SUITE)
    b.add_argument("--flavour", choices=list(BASE_FLAVOURS), default="minbase")
    b.add_argument("--force", action="store_true", help="rebuild even if it exists")
    s = sub.add_parser("build", help="build service images")
    s.add_argument("service", help="a service name or 'all'")
    s.add_argument("--base", choices=["local", "stripped", "official"], default="local")
    s.add_argument("--tag", default="local")
    s.add_argument("--verbose", action="store_true", help="stream the build output")
    r = sub.add_parser("report", help="size and layer count of each image")
    r.add_argument("--tag", default="local")
    r.add_argument("--json", action="store_true")
    u = sub.add_parser("run", help="run a service container (hardened, port on loopback)")
    u.add_argument("service")
    u.add_argument("--tag", default="local")
    u.add_argument("--port", type=int, help="host port on 127.0.0.1 (default: the manifest port)")
    u.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE")
    a = sub.add_parser("build-args", help="print a service's build args, KEY=VALUE per line (CI, docker)")
    a.add_argument("service")
    a.add_argument("--base-image", default=OFFICIAL_BASE)
    a.add_argument("--tag", default="local")
    k = sub.add_parser("bench", help="time base, cold and warm builds in a scratch storage")
    k.add_argument("--service", default=None, help="default: the first service")
    k.add_argument("--keep", action="store_true", help="keep the scratch storage")
    k.add_argument("--json", action="store_true")
    p = sub.add_parser("podman", help="podman with this repository's configuration and storage")
    p.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    try:
        if args.cmd == "podman":
            return subprocess.call(podman_argv(*args.args), env=podman_env())
        if args.cmd == "build-args":
            # The same args `build` passes, for builders other than podman (e.g. a CI action).
            m = manifests.get(args.service)
            for key, value in build_args(m, args.base_image, args.tag).items():
                print(f"{key}={value}")
            return 0
        services = _services(args.service) if args.cmd in {"build", "run"} else []
        reason = unavailable_reason()
        if reason:
            print(f"images: {reason}", file=sys.stderr)
            return 3
        if args.cmd == "base":
            started = time.monotonic()
            ref = ensure_base(args.suite, args.flavour, args.force)
            print(f"{ref} ready ({time.monotonic() - started:.1f} s)")
        elif args.cmd == "build":
            for service in services:
                res = build(service, args.base, args.tag, quiet=not args.verbose)
                print(f"{res.image} built from the {res.base} base in {res.seconds:.1f} s")
        elif args.cmd == "report":
            rows = report(args.tag)
            if args.json:
                print(json.dumps([r.model_dump() for r in rows], indent=2))
            else:
                print(f"{'IMAGE':48} {'SIZE':>10} {'LAYERS':>6}")
                for row in rows:
                    print(f"{row.image:48} {row.size_mb:>7.1f} MB {row.layers:>6}")
                if not rows:
                    print("no images yet: run `make images`")
        elif args.cmd == "bench":
            service = args.service or manifests.load_all()[0].name
            rows = bench(service, keep=args.keep)
            if args.json:
                print(json.dumps([r.model_dump() for r in rows], indent=2))
            else:
                print(f"{'STEP':48} {'TIME':>8} {'SIZE':>10} {'LAYERS':>6}")
                for b in rows:
                    print(f"{b.step:48} {b.seconds:>6.1f} s {b.size_mb:>7.1f} MB {b.layers:>6}")
        elif args.cmd == "run":
            env = dict(item.split("=", 1) for item in args.env if "=" in item)
            bad = [item for item in args.env if "=" not in item]
            if bad:
                raise ImageError(f"-e needs NAME=VALUE, got {bad[0]!r}")
            port = args.port or manifests.get(args.service).port
            name = f"{manifests.project_name()}-{args.service}"
            print(
                podman(
                    *run_argv(args.service, name=name, tag=args.tag, host_port=port, env=env)
                ).stdout.strip()
            )
    except KeyError as exc:
        print(f"images: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except (ImageError, ValueError) as exc:
        print(f"images: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main())
