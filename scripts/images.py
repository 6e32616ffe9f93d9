"""Container images of the services, built and run with podman (no Docker engine needed).

The command line only; the work is in scripts/tooling/: podman.py (podman with this repository's
configuration and storage), base_image.py (the debootstrap bases), service_images.py (build args
from the manifests, build, report, a hardened run) and image_bench.py (build timings).

CLI (the Makefile's ``images``, ``image-report``, ``base-image`` and ``image-bench`` targets call it)::

    python scripts/images.py base [--flavour minbase|runtime|stripped] [--force]
    python scripts/images.py build catalog|all [--base local|stripped|official] [--tag TAG]
    python scripts/images.py report [--json]
    python scripts/images.py run catalog [--port HOST_PORT] [-e NAME=VALUE ...]
    python scripts/images.py build-args catalog [--base-image REF] [--tag TAG]  # KEY=VALUE lines
    python scripts/images.py bench [--service NAME]   # base, cold and warm build times; base variants
    python scripts/images.py podman ARGS...   # podman with this repository's config and storage

Exit codes: 0 success, 2 bad input or a failed step (one line says what), 3 podman cannot run here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import manifests
from pydantic import BaseModel
from tooling.base_image import BASE_FLAVOURS, DEFAULT_SUITE, ensure_base
from tooling.image_bench import bench
from tooling.podman import ImageError, podman, podman_argv, podman_env, unavailable_reason
from tooling.service_images import OFFICIAL_BASE, build, build_args, report, run_argv


def _services(name: str) -> list[str]:
    names = [m.name for m in manifests.load_all()]
    if name == "all":
        return names
    if name not in names:
        raise ImageError(f"no service named {name!r} (one of: {', '.join(names)}, all)")
    return [name]


def _podman(args: argparse.Namespace) -> int:
    return subprocess.call(podman_argv(*args.args), env=podman_env())


def _build_args(args: argparse.Namespace) -> int:
    # The same args `build` passes, for builders other than podman (e.g. a CI action).
    for key, value in build_args(manifests.get(args.service), args.base_image, args.tag).items():
        print(f"{key}={value}")
    return 0


def _base(args: argparse.Namespace) -> int:
    started = time.monotonic()
    ref = ensure_base(args.suite, args.flavour, args.force)
    print(f"{ref} ready ({time.monotonic() - started:.1f} s)")
    return 0


def _build(args: argparse.Namespace) -> int:
    for service in _services(args.service):
        res = build(service, args.base, args.tag, quiet=not args.verbose)
        print(f"{res.image} built from the {res.base} base in {res.seconds:.1f} s")
    return 0


def _show(rows: Sequence[BaseModel], as_json: bool, header: str, line: Callable[[Any], str]) -> None:
    """Rows as JSON, or as a table: ``header`` then ``line(row)`` for each row."""
    if as_json:
        print(json.dumps([r.model_dump() for r in rows], indent=2))
        return
    print(header)
    for row in rows:
        print(line(row))


def _report(args: argparse.Namespace) -> int:
    rows = report(args.tag)
    _show(
        rows,
        args.json,
        f"{'IMAGE':48} {'SIZE':>10} {'LAYERS':>6}",
        lambda r: f"{r.image:48} {r.size_mb:>7.1f} MB {r.layers:>6}",
    )
    if not rows and not args.json:
        print("no images yet: run `make images`")
    return 0


def _bench(args: argparse.Namespace) -> int:
    _show(
        bench(args.service or manifests.load_all()[0].name, keep=args.keep),
        args.json,
        f"{'STEP':48} {'TIME':>8} {'SIZE':>10} {'LAYERS':>6}",
        lambda b: f"{b.step:48} {b.seconds:>6.1f} s {b.size_mb:>7.1f} MB {b.layers:>6}",
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    bad = [item for item in args.env if "=" not in item]
    if bad:
        raise ImageError(f"-e needs NAME=VALUE, got {bad[0]!r}")
    env = dict(item.split("=", 1) for item in args.env)
    port = args.port or manifests.get(args.service).port
    name = f"{manifests.project_name()}-{args.service}"
    argv = run_argv(args.service, name=name, tag=args.tag, host_port=port, env=env)
    print(podman(*argv).stdout.strip())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("base", help="build the local debootstrap base image (cached)")
    b.add_argument("--suite", default=DEFAULT_SUITE)
    b.add_argument("--flavour", choices=list(BASE_FLAVOURS), default="minbase")
    b.add_argument("--force", action="store_true", help="rebuild even if it exists")
    b.set_defaults(func=_base, needs_podman=True)
    s = sub.add_parser("build", help="build service images")
    s.add_argument("service", help="a service name or 'all'")
    s.add_argument("--base", choices=["local", "stripped", "official"], default="local")
    s.add_argument("--tag", default="local")
    s.add_argument("--verbose", action="store_true", help="stream the build output")
    s.set_defaults(func=_build, needs_podman=True)
    r = sub.add_parser("report", help="size and layer count of each image")
    r.add_argument("--tag", default="local")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_report, needs_podman=True)
    u = sub.add_parser("run", help="run a service container (hardened, port on loopback)")
    u.add_argument("service")
    u.add_argument("--tag", default="local")
    u.add_argument("--port", type=int, help="host port on 127.0.0.1 (default: the manifest port)")
    u.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE")
    u.set_defaults(func=_run, needs_podman=True)
    a = sub.add_parser("build-args", help="print a service's build args, KEY=VALUE per line (CI, docker)")
    a.add_argument("service")
    a.add_argument("--base-image", default=OFFICIAL_BASE)
    a.add_argument("--tag", default="local")
    a.set_defaults(func=_build_args, needs_podman=False)
    k = sub.add_parser("bench", help="time base, cold and warm builds in a scratch storage")
    k.add_argument("--service", default=None, help="default: the first service")
    k.add_argument("--keep", action="store_true", help="keep the scratch storage")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=_bench, needs_podman=True)
    p = sub.add_parser("podman", help="podman with this repository's configuration and storage")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_podman, needs_podman=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd in {"build", "run"}:
            _services(args.service)  # a wrong name is a usage error, even where podman is missing
        if args.needs_podman and (reason := unavailable_reason()):
            print(f"images: {reason}", file=sys.stderr)
            return 3
        return args.func(args)
    except KeyError as exc:
        print(f"images: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except (ImageError, ValueError) as exc:
        print(f"images: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
