"""Rehearse main's deploy path on this machine, one stage at a time (``make rehearsal``).

The stages are the jobs of .github/workflows/main.yml, run with the same make targets and
scripts, against the AWS emulator (moto) instead of an AWS account and podman instead of buildx:

    quality, security, test      make quality / make security / make test-fast
    emulator                     a moto server (its own free port) + the state backend
                                 (make bootstrap-backend ENV=local) + the ECR repositories
                                 infra/bootstrap creates
    images                       make images (podman), each image's manifest registered in the
                                 emulator's ECR with tag = commit; digests recorded and collected
                                 by scripts/ci/ci_images.py exactly as in CI
    deploy                       make plan ENV=local (images by digest) -> make plan-seal ->
                                 make plan (again) -> make plan-verify -> ci_images.py keep
                                 -> make apply
    secrets                      scripts/sync_secrets.py --env local (generated values), then
                                 scripts/roll_services.py (as make sync-secrets)
    static                       make publish-static ENV=local
    run                          ECS stand-in: the emulator cannot run tasks, so each service's
                                 DEPLOYED task definition (image digest, environment, secrets) is
                                 run with podman, behind the local edge (Caddy)
    smoke                        make smoke ENV=local (through the edge); on success the images
                                 are recorded as local's last good deploy (deploy_record.py)
    destroy                      stop what ran, make destroy ENV=local, stop the emulator

    python scripts/ci/rehearsal.py stage <name>    one stage (make rehearsal-<name>)
    python scripts/ci/rehearsal.py timings         seconds per stage of the last rehearsal

State (ports, pid records, images.json, logs, timings) lives in .local/pipeline/.
The stages are in rehearsal_deploy.py (emulator .. static) and rehearsal_run.py (run, smoke,
destroy), what they share in rehearsal_base.py; this file is only the command line.
Exit status: 0 ok, 1 the stage failed (one line says why), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from botocore.exceptions import BotoCoreError, ClientError
from rehearsal_base import STATE_DIR, TIMINGS_FILE, StageError, load_state, make, processes, save_state
from rehearsal_deploy import stage_deploy, stage_emulator, stage_images, stage_secrets, stage_static
from rehearsal_run import stage_destroy, stage_run, stage_smoke
from tooling.podman import ImageError
from tooling.stack_settings import StackError

MAKE_STAGES = {"quality": ["quality"], "security": ["security"], "test": ["test-fast"]}
STAGES: dict[str, Callable[[dict], None]] = {
    "emulator": stage_emulator,
    "images": stage_images,
    "secrets": stage_secrets,
    "deploy": stage_deploy,
    "static": stage_static,
    "run": stage_run,
    "smoke": stage_smoke,
    "destroy": stage_destroy,
}


def _timings() -> dict:
    return json.loads(TIMINGS_FILE.read_text()) if TIMINGS_FILE.exists() else {}


def record_timing(stage: str, seconds: float, ok: bool) -> None:
    timings = {} if stage == "quality" else _timings()  # the first stage starts a new rehearsal
    timings[stage] = {"seconds": round(seconds, 1), "ok": ok}
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    TIMINGS_FILE.write_text(json.dumps(timings, indent=2) + "\n")


def _print_timings(_args: argparse.Namespace) -> int:
    timings = _timings()
    total = sum(t["seconds"] for t in timings.values())
    for name, t in timings.items():
        print(f"  {name:<10} {t['seconds']:>7.1f} s  {'ok' if t['ok'] else 'FAILED'}")
    print(f"  {'total':<10} {total:>7.1f} s")
    return 0


def _emulator_gone_note(stage: str) -> None:
    record = processes(load_state()).record("moto")
    if record and stage != "destroy" and not record.is_ours():
        print(
            f"rehearsal: the AWS emulator (pid {record.pid}) is no longer running: stopped from outside?",
            file=sys.stderr,
        )


def _run_stage(name: str) -> None:
    if name in MAKE_STAGES:
        make(*MAKE_STAGES[name])
        return
    state = load_state()
    STAGES[name](state)
    save_state(state)


def _stage(args: argparse.Namespace) -> int:
    started = time.monotonic()
    ok = False
    try:
        _run_stage(args.name)
        ok = True
    except StageError as exc:
        print(f"rehearsal: stage {args.name} FAILED: {exc}", file=sys.stderr)
        _emulator_gone_note(args.name)
    except (ImageError, StackError, OSError, ValueError, KeyError) as exc:
        print(f"rehearsal: stage {args.name} FAILED: {exc.__class__.__name__}: {exc}", file=sys.stderr)
    except (BotoCoreError, ClientError, subprocess.SubprocessError) as exc:
        print(f"rehearsal: stage {args.name} FAILED: {exc.__class__.__name__}: {exc}", file=sys.stderr)
    finally:
        record_timing(args.name, time.monotonic() - started, ok)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stage", help="run one stage")
    st.add_argument("name", choices=[*MAKE_STAGES, *STAGES])
    st.set_defaults(func=_stage)
    sub.add_parser("timings", help="seconds per stage of the last rehearsal").set_defaults(
        func=_print_timings
    )
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
