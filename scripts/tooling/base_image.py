"""The local Debian base images, made with debootstrap (no registry to pull from).

Flavours: minbase (the build stage's base: the interpreter, venv support, binutils and a CA bundle
with the host's extra CA certificates), runtime (minbase with the build tools and apt purged by
dpkg, so scanners read an exact package database) and stripped (only the interpreter's files).
The mirror is the one this machine's apt uses (never hard-coded; STOREFRONT_DEBIAN_MIRROR overrides).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import manifests

from tooling.podman import (
    ImageError,
    file_lock,
    image_exists,
    podman,
    podman_argv,
    podman_env,
    run_checked,
    storage_dir,
)

DEFAULT_SUITE = "bookworm"
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
            suites, components = st.get("suites", "").split(), st.get("components", "").split()
            candidates.extend((uri, suites, components) for uri in st.get("uris", "").split())
    for uri, suites, components in candidates:
        if suite in suites and "main" in components and uri.startswith(("http://", "https://", "file:")):
            return uri
    raise ImageError(
        f"no apt source for suite {suite!r} (main) in {apt_dir}; set STOREFRONT_DEBIAN_MIRROR to a mirror URL"
    )


def _debootstrap(rootfs: Path, suite: str) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed (Debian package debootstrap)")
    mirror = apt_mirror(suite)
    run_checked(
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
    run_checked(["chroot", str(rootfs), "update-ca-certificates", "--fresh"], "update-ca-certificates")
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
        run_checked(["chroot", str(rootfs), "dpkg", "--purge", *purge], "dpkg --purge of build-only packages")
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
        run_checked(
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
            run_checked(
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
    with file_lock(root / "locks" / f"base-{suite}.lock"):
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
