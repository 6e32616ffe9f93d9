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

State (ports, pids, images.json, logs, timings) lives in .local/pipeline/.
Exit status: 0 ok, 1 the stage failed (one line says why), 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import httpx
from botocore.exceptions import BotoCoreError, ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import emulator
import images as image_builds
import localstack
import manifests
import sync_secrets

ROOT = manifests.REPO_ROOT
STATE_DIR = ROOT / ".local" / "pipeline"
STATE_FILE = STATE_DIR / "state.json"
TIMINGS_FILE = STATE_DIR / "timings.json"
# The make targets' own state (Terraform data dir, plan files, plan-out) kept apart from a
# developer's .local/terraform, so a rehearsal never shares a plan or a .terraform folder.
MAKE_STATE = STATE_DIR / "make"
TF = f"STATE={MAKE_STATE}"
ENV = "local"
REGION = "eu-west-1"
# From inside a slirp4netns container with allow_host_loopback, the host's 127.0.0.1 is here.
HOST_FROM_CONTAINER = "10.0.2.2"
CONTAINER_NETWORK = "slirp4netns:allow_host_loopback=true"
# The emulator accepts any credentials; these reach no real AWS.
_FAKE = "testing"
EMULATOR = str(emulator.SCRIPT)  # what the emulator's command line names (pids get reused)
EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": _FAKE,
    "AWS_SECRET_ACCESS_KEY": _FAKE,
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
MAKE_STAGES = {"quality": ["quality"], "security": ["security"], "test": ["test-fast"]}


class StageError(Exception):
    """A stage failed; the message is one line a person can act on."""


# ---------------------------------------------------------------------------------------------
# state


def load_state() -> dict:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def save_state(state: dict) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")


def emulator_env(state: dict) -> dict[str, str]:
    if "moto_port" not in state:
        raise StageError("the emulator is not running: run `make rehearsal-emulator` first")
    return {**os.environ, **EMULATOR_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{state['moto_port']}"}


def commit() -> str:
    result = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "0" * 40


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv: list[str], env: dict[str, str] | None = None, what: str | None = None) -> None:
    """Run a command with its output streaming to the console; fail the stage if it fails."""
    print(f"$ {' '.join(argv)}", flush=True)
    result = subprocess.run(argv, cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise StageError(f"{what or ' '.join(argv[:3])} failed (exit {result.returncode})")


def make(*targets: str, env: dict[str, str] | None = None) -> None:
    run(["make", *targets], env=env, what=f"make {' '.join(targets)}")


def wait_http(url: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.3)
    raise StageError(f"{what} not ready at {url} after {timeout:.0f}s ({last})")


def _clients(env: dict[str, str]):
    session = boto3.session.Session(aws_access_key_id=_FAKE, aws_secret_access_key=_FAKE, region_name=REGION)
    url = env["AWS_ENDPOINT_URL"]
    return lambda service: session.client(service, endpoint_url=url)


# ---------------------------------------------------------------------------------------------
# stages


def stage_emulator(state: dict) -> None:
    stage_destroy_processes(state)  # leftovers of an interrupted rehearsal
    _stop_pid(state.get("moto_pid"), EMULATOR)
    port = free_port()
    log = STATE_DIR / "logs" / "moto.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            emulator.argv(sys.executable, port),
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **EMULATOR_ENV},
        )
    state.update(moto_port=port, moto_pid=proc.pid, commit=commit())
    save_state(state)
    wait_http(f"http://127.0.0.1:{port}/moto-api/", 30, "the AWS emulator")
    env = emulator_env(state)
    make("bootstrap-backend", "ENV=local", env=env)
    ecr = _clients(env)("ecr")
    for m in manifests.load_all():  # what infra/bootstrap creates in a real account
        ecr.create_repository(
            repositoryName=f"{manifests.project_name()}/{m.name}", imageTagMutability="IMMUTABLE"
        )
    print(f"emulator on 127.0.0.1:{port} (pid {proc.pid}); state backend and ECR repositories ready")


def stage_images(state: dict) -> None:
    env = emulator_env(state)
    tag = state["commit"]
    make("images", f"IMAGE_TAG={tag}")
    account = _clients(env)("sts").get_caller_identity()["Account"]
    registry = f"{account}.dkr.ecr.{REGION}.amazonaws.com"
    ecr = _clients(env)("ecr")
    digests_dir = STATE_DIR / "digests"
    digests_dir.mkdir(parents=True, exist_ok=True)
    for m in manifests.load_all():
        ref = image_builds.image_ref(m.name, tag)
        repo = f"{manifests.project_name()}/{m.name}"
        out = str(digests_dir / f"{m.name}.json")
        with tempfile.NamedTemporaryFile("r") as gh:
            run(
                [sys.executable, "scripts/ci/ci_images.py", "prepare", "--service", m.name,
                 "--registry", registry, "--tag", tag, "--github-output", gh.name],
                env=env,
            )  # fmt: skip
            prepared = gh.read()
        if "exists=true\n" in prepared:  # built once per commit: a re-run only reads the digest
            run(
                [sys.executable, "scripts/ci/ci_images.py", "record", "--service", m.name, "--repository",
                 f"{registry}/{repo}", "--tag", tag, "--out", out],
                env=env,
            )  # fmt: skip
            state.setdefault("local_images", {})[m.name] = ref
            continue
        with tempfile.TemporaryDirectory() as tmp:
            image_builds.podman("push", "--format", "oci", ref, f"dir:{tmp}/image")
            raw = Path(tmp, "image", "manifest.json").read_text()
        # The digest of an image is the SHA-256 of its manifest bytes (ECR checks the one we send;
        # the emulator would otherwise invent its own).
        own = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
        pushed = ecr.put_image(repositoryName=repo, imageManifest=raw, imageTag=tag, imageDigest=own)
        digest = pushed["image"]["imageId"]["imageDigest"]
        if digest != own:
            raise StageError(f"{m.name}: ECR recorded digest {digest}, the manifest's is {own}")
        state.setdefault("local_images", {})[m.name] = ref
        run(
            [sys.executable, "scripts/ci/ci_images.py", "record", "--service", m.name, "--repository",
             f"{registry}/{repo}", "--tag", tag, "--digest", digest, "--out", out],
            env=env,
        )  # fmt: skip
    run(
        [sys.executable, "scripts/ci/ci_images.py", "collect", "--dir", str(digests_dir),
         "--out", str(STATE_DIR / "images.json")],
        env=env,
    )  # fmt: skip
    save_state(state)
    run([sys.executable, "scripts/ci/ci_images.py", "summary", "--images", str(STATE_DIR / "images.json")])


def stage_secrets(state: dict) -> None:
    env = emulator_env(state)
    values = STATE_DIR / "secrets.env"
    if not values.exists():
        lines = [
            f"{sync_secrets.variable_name(m.name, s.name)}={secrets.token_urlsafe(24)}"
            for m in manifests.load_all()
            for s in m.secrets
            if s.owned
        ]
        values.touch(mode=0o600)
        values.write_text("\n".join(lines) + "\n")
    run(
        [
            sys.executable,
            "scripts/sync_secrets.py",
            "--env",
            ENV,
            "--values-file",
            str(values),
            "--require-existing",
        ],
        env=env,
    )
    # What `make sync-secrets` runs next: the first deployment could not start a task without the values.
    run([sys.executable, "scripts/roll_services.py", "--env", ENV, "--wait-seconds", "60"], env=env)


def _tfvars(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "scripts/ci/ci_images.py", "tfvars", "--images", str(STATE_DIR / "images.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def stage_deploy(state: dict) -> None:
    env = {**emulator_env(state), **_tfvars(emulator_env(state))}
    make("plan", "ENV=local", TF, f"IMAGE_TAG={env['TF_VAR_image_tag']}", env=env)
    make("plan-seal", "ENV=local", TF, f"COMMIT={state['commit']}", env=env)
    # What the apply job receives: the seal only (a job output). It plans again and applies that
    # new plan only if it renders exactly as the reviewed one.
    reviewed = STATE_DIR / "reviewed-seal.json"
    reviewed.write_text((MAKE_STATE / "plan-out/local/seal.json").read_text())
    print((MAKE_STATE / "plan-out/local/report.md").read_text().split("#### Changed resources")[0])
    make("plan", "ENV=local", TF, f"IMAGE_TAG={env['TF_VAR_image_tag']}", env=env)
    make("plan-verify", "ENV=local", TF, f"COMMIT={state['commit']}", f"PLAN_SEAL={reviewed}", env=env)
    images = str(STATE_DIR / "images.json")
    run([sys.executable, "scripts/ci/ci_images.py", "keep", "--images", images, "--env", ENV], env=env)
    make("apply", "ENV=local", TF, f"TFPLAN={MAKE_STATE / 'terraform' / 'local.tfplan'}", env=env)


def stage_static(state: dict) -> None:
    make("publish-static", "ENV=local", env=emulator_env(state))


def _terraform_outputs(env: dict[str, str]) -> dict:
    make("tf-init", "ENV=local", TF, env=env)
    result = subprocess.run(
        ["terraform", "-chdir=infra/stack", "output", "-json"],
        cwd=ROOT,
        env={**env, "TF_DATA_DIR": str(MAKE_STATE / "terraform" / ENV)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StageError(f"terraform output failed: {result.stderr.strip()[-300:]}")
    return {k: v["value"] for k, v in json.loads(result.stdout).items()}


def _container_name(state: dict, service: str) -> str:
    return f"pipeline-{state['moto_port']}-{service}"


def stage_run(state: dict) -> None:
    """ECS stand-in: run each service's deployed task definition with podman, then the edge."""
    env = emulator_env(state)
    outputs = _terraform_outputs(env)
    client = _clients(env)
    ecs, sm = client("ecs"), client("secretsmanager")
    wanted = json.loads((STATE_DIR / "images.json").read_text())["images"]
    host_ports = {m.name: free_port() for m in manifests.load_all()}
    state.update(service_ports=host_ports, containers=[])
    save_state(state)
    order = localstack.start_order(manifests.load_all())
    for m in order:
        svc = ecs.describe_services(
            cluster=outputs["cluster_name"], services=[outputs["services"][m.name]["service_name"]]
        )["services"][0]
        task = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        container = next(c for c in task["containerDefinitions"] if c["name"] == m.name)
        expected = f"{wanted[m.name]['repository']}@{wanted[m.name]['digest']}"
        if container["image"] != expected:
            raise StageError(f"{m.name}: deployed image {container['image']} is not {expected}")
        run_env = {e["name"]: e["value"] for e in container.get("environment", [])}
        for s in container.get("secrets", []):
            run_env[s["name"]] = sm.get_secret_value(SecretId=s["valueFrom"])["SecretString"]
        run_env.update(EMULATOR_ENV)
        run_env["AWS_ENDPOINT_URL"] = f"http://{HOST_FROM_CONTAINER}:{state['moto_port']}"
        for dep in m.dependencies:  # service discovery in ECS; the dependency's host port here
            run_env[dep.env] = f"http://{HOST_FROM_CONTAINER}:{host_ports[dep.service]}"
        name = _container_name(state, m.name)
        image_builds.podman("rm", "--force", "--ignore", name, check=False)
        argv = image_builds.run_argv(
            m.name, name=name, tag=state["commit"], host_port=host_ports[m.name], env=run_env,
            network=CONTAINER_NETWORK,
        )  # fmt: skip
        image_builds.podman(*argv)
        state["containers"].append(name)
        save_state(state)
        try:
            wait_http(f"http://127.0.0.1:{host_ports[m.name]}{m.ready_path}", 60, f"{m.name} container")
        except StageError:
            logs = image_builds.podman("logs", name, check=False).stdout or ""
            raise StageError(f"{m.name} container not ready: {logs.strip().splitlines()[-3:]}") from None
        print(f"{m.name}: {expected} on 127.0.0.1:{host_ports[m.name]} (task definition {task['family']})")
    edge_port = free_port()
    settings = localstack.Settings(
        state=STATE_DIR / "edge", edge_port=edge_port, aws_port=state["moto_port"], service_ports=host_ports
    )
    config = settings.state / "caddy" / "Caddyfile"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(localstack.caddyfile(settings))
    log = STATE_DIR / "logs" / "edge.log"
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [settings.caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=localstack.edge_env(settings),
            start_new_session=True,
        )
    state.update(edge_port=edge_port, edge_pid=proc.pid)
    save_state(state)
    for m in manifests.load_all():
        wait_http(f"http://127.0.0.1:{edge_port}{m.ready_path}", 30, f"edge route {m.path_prefix}")
    print(f"edge on http://127.0.0.1:{edge_port}/")


def stage_smoke(state: dict) -> None:
    if "edge_port" not in state:
        raise StageError("nothing runs: run `make rehearsal-run` first")
    env = emulator_env(state)
    smoke_dir = STATE_DIR / "smoke"
    make(
        "smoke", "ENV=local", TF, f"SMOKE_BASE_URL=http://127.0.0.1:{state['edge_port']}", "SMOKE_TIMEOUT=60",
        f"SMOKE_DIR={smoke_dir}", env=env,
    )  # fmt: skip
    run(
        [sys.executable, "scripts/ci/deploy_record.py", "record", "--env", ENV, "--images",
         str(STATE_DIR / "images.json")],
        env=env,
    )  # fmt: skip


def _is_ours(pid: int, marker: str) -> bool:
    """Only a process whose command line still names what we started (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline


def _stop_pid(pid: int | None, marker: str) -> None:
    if not pid or not _is_ours(pid, marker):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            time.sleep(0.1)
            if not _is_ours(pid, marker):
                return
        os.killpg(pid, signal.SIGKILL)


def stage_destroy_processes(state: dict) -> None:
    for name in state.get("containers", []):
        image_builds.podman("rm", "--force", "--ignore", name, check=False)
    _stop_pid(state.get("edge_pid"), "caddy")
    for key in ("containers", "edge_pid", "edge_port"):
        state.pop(key, None)


def stage_destroy(state: dict) -> None:
    stage_destroy_processes(state)
    failure = None
    if state.get("moto_pid"):
        try:
            make("destroy", "ENV=local", TF, env=emulator_env(state))
        except StageError as exc:
            failure = exc
        _stop_pid(state.get("moto_pid"), EMULATOR)
    for key in ("moto_pid", "moto_port"):
        state.pop(key, None)
    save_state(state)
    if failure:
        raise failure


STAGES = {
    "emulator": stage_emulator,
    "images": stage_images,
    "secrets": stage_secrets,
    "deploy": stage_deploy,
    "static": stage_static,
    "run": stage_run,
    "smoke": stage_smoke,
    "destroy": stage_destroy,
}


def record_timing(stage: str, seconds: float, ok: bool) -> None:
    timings = json.loads(TIMINGS_FILE.read_text()) if TIMINGS_FILE.exists() else {}
    if stage == "quality":  # the first stage starts a new rehearsal
        timings = {}
    timings[stage] = {"seconds": round(seconds, 1), "ok": ok}
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    TIMINGS_FILE.write_text(json.dumps(timings, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stage")
    st.add_argument("name", choices=[*MAKE_STAGES, *STAGES])
    sub.add_parser("timings")
    args = parser.parse_args(argv)
    if args.cmd == "timings":
        timings = json.loads(TIMINGS_FILE.read_text()) if TIMINGS_FILE.exists() else {}
        total = sum(t["seconds"] for t in timings.values())
        for name, t in timings.items():
            print(f"  {name:<10} {t['seconds']:>7.1f} s  {'ok' if t['ok'] else 'FAILED'}")
        print(f"  {'total':<10} {total:>7.1f} s")
        return 0
    started = time.monotonic()
    ok = False
    try:
        if args.name in MAKE_STAGES:
            make(*MAKE_STAGES[args.name])
        else:
            state = load_state()
            STAGES[args.name](state)
            save_state(state)
        ok = True
    except StageError as exc:
        print(f"rehearsal: stage {args.name} FAILED: {exc}", file=sys.stderr)
        pid = load_state().get("moto_pid")
        if pid and args.name != "destroy" and not _is_ours(pid, EMULATOR):
            print(
                f"rehearsal: the AWS emulator (pid {pid}) is no longer running: stopped from outside?",
                file=sys.stderr,
            )
    except (image_builds.ImageError, localstack.StackError, OSError, ValueError, KeyError) as exc:
        print(f"rehearsal: stage {args.name} FAILED: {exc.__class__.__name__}: {exc}", file=sys.stderr)
    except (BotoCoreError, ClientError, subprocess.SubprocessError) as exc:
        print(f"rehearsal: stage {args.name} FAILED: {exc.__class__.__name__}: {exc}", file=sys.stderr)
    finally:
        record_timing(args.name, time.monotonic() - started, ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
