"""`make image-bench`: base, cold and warm build times in a scratch storage (printed, never asserted)."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import manifests
from pydantic import BaseModel

from tooling.base_image import ensure_base
from tooling.podman import podman, run_dir, storage_dir
from tooling.service_images import SERVICES_DIR, build, info


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
            shutil.rmtree(run_dir(scratch), ignore_errors=True)
    return rows
