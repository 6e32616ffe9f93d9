"""The rehearsal stages up to the apply: emulator, images, deploy, secrets, static (as main.yml)."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import emulator
import manifests
import sync_secrets
from rehearsal_base import (
    EMULATOR_ENV,
    ENV,
    IMAGES_JSON,
    MAKE_STATE,
    REGION,
    ROOT,
    STATE_DIR,
    TF,
    StageError,
    clients,
    commit,
    emulator_env,
    make,
    processes,
    run,
    save_state,
)
from rehearsal_run import stage_destroy_processes
from tooling.net import HOST, free_port
from tooling.podman import podman
from tooling.service_images import image_ref

CI_IMAGES = "scripts/ci/ci_images.py"


def stage_emulator(state: dict) -> None:
    stage_destroy_processes(state)  # leftovers of an interrupted rehearsal
    procs = processes(state)
    procs.stop("moto")
    port = free_port()
    argv = emulator.argv(sys.executable, port)
    procs.start("moto", argv, {**os.environ, **EMULATOR_ENV}, port, f"http://{HOST}:{port}/moto-api/")
    rec = procs.record("moto")
    state.update(moto_port=port, moto_pid=rec.pid if rec else None, commit=commit())
    save_state(state)
    env = emulator_env(state)
    make("bootstrap-backend", "ENV=local", env=env)
    ecr = clients(env)("ecr")
    for m in manifests.load_all():  # what infra/bootstrap creates in a real account
        ecr.create_repository(
            repositoryName=f"{manifests.project_name()}/{m.name}", imageTagMutability="IMMUTABLE"
        )
    print(f"emulator on {HOST}:{port} (pid {state['moto_pid']}); state backend and ECR repositories ready")


def _ci_images(*args: str, env: dict[str, str] | None = None) -> None:
    run([sys.executable, CI_IMAGES, *args], env=env)


def _push_manifest(ecr, service: str, repo: str, tag: str) -> str:
    """Register the image's manifest in the emulator's ECR; its digest."""
    with tempfile.TemporaryDirectory() as tmp:
        podman("push", "--format", "oci", image_ref(service, tag), f"dir:{tmp}/image")
        raw = Path(tmp, "image", "manifest.json").read_text()
    # The digest of an image is the SHA-256 of its manifest bytes (ECR checks the one we send;
    # the emulator would otherwise invent its own).
    own = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
    pushed = ecr.put_image(repositoryName=repo, imageManifest=raw, imageTag=tag, imageDigest=own)
    digest = pushed["image"]["imageId"]["imageDigest"]
    if digest != own:
        raise StageError(f"{service}: ECR recorded digest {digest}, the manifest's is {own}")
    return digest


def stage_images(state: dict) -> None:
    env = emulator_env(state)
    tag = state["commit"]
    make("images", f"IMAGE_TAG={tag}")
    account = clients(env)("sts").get_caller_identity()["Account"]
    registry = f"{account}.dkr.ecr.{REGION}.amazonaws.com"
    ecr = clients(env)("ecr")
    digests_dir = STATE_DIR / "digests"
    digests_dir.mkdir(parents=True, exist_ok=True)
    for m in manifests.load_all():
        repo = f"{manifests.project_name()}/{m.name}"
        record = ["record", "--service", m.name, "--repository", f"{registry}/{repo}", "--tag", tag]
        out = ["--out", str(digests_dir / f"{m.name}.json")]
        with tempfile.NamedTemporaryFile("r") as gh:
            prepare = ["prepare", "--service", m.name, "--registry", registry, "--tag", tag]
            _ci_images(*prepare, "--github-output", gh.name, env=env)
            prepared = gh.read()
        state.setdefault("local_images", {})[m.name] = image_ref(m.name, tag)
        if "exists=true\n" in prepared:  # built once per commit: a re-run only reads the digest
            _ci_images(*record, *out, env=env)
            continue
        digest = _push_manifest(ecr, m.name, repo, tag)
        _ci_images(*record, "--digest", digest, *out, env=env)
    _ci_images("collect", "--dir", str(digests_dir), "--out", str(IMAGES_JSON), env=env)
    save_state(state)
    _ci_images("summary", "--images", str(IMAGES_JSON))


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
        [sys.executable, CI_IMAGES, "tfvars", "--images", str(IMAGES_JSON)],
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
    _ci_images("keep", "--images", str(IMAGES_JSON), "--env", ENV, env=env)
    make("apply", "ENV=local", TF, f"TFPLAN={MAKE_STATE / 'terraform' / 'local.tfplan'}", env=env)


def stage_static(state: dict) -> None:
    make("publish-static", "ENV=local", env=emulator_env(state))
