"""The rehearsal stages after the apply: run (the ECS stand-in and the edge), smoke, destroy."""

from __future__ import annotations

import json
import subprocess
import sys

import manifests
from rehearsal_base import (
    CONTAINER_NETWORK,
    EMULATOR_ENV,
    ENV,
    HOST_FROM_CONTAINER,
    IMAGES_JSON,
    MAKE_STATE,
    ROOT,
    STATE_DIR,
    TF,
    StageError,
    clients,
    emulator_env,
    make,
    processes,
    run,
    save_state,
    wait_ready,
)
from tooling.edge_config import caddyfile, edge_env
from tooling.net import HOST, free_port
from tooling.podman import podman
from tooling.service_images import run_argv
from tooling.services import start_order
from tooling.stack_settings import Settings


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


def _deployed_container(client, outputs: dict, service: str) -> tuple[dict, str]:
    """The service's container definition in its deployed task definition, and that family."""
    ecs = client("ecs")
    svc = ecs.describe_services(
        cluster=outputs["cluster_name"], services=[outputs["services"][service]["service_name"]]
    )["services"][0]
    task = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    return next(c for c in task["containerDefinitions"] if c["name"] == service), task["family"]


def _run_env(client, container: dict, m: manifests.Manifest, state: dict) -> dict[str, str]:
    """The task's environment and secrets, pointed at the emulator and the other containers."""
    sm = client("secretsmanager")
    run_env = {e["name"]: e["value"] for e in container.get("environment", [])}
    for s in container.get("secrets", []):
        run_env[s["name"]] = sm.get_secret_value(SecretId=s["valueFrom"])["SecretString"]
    run_env.update(EMULATOR_ENV)
    run_env["AWS_ENDPOINT_URL"] = f"http://{HOST_FROM_CONTAINER}:{state['moto_port']}"
    for dep in m.dependencies:  # service discovery in ECS; the dependency's host port here
        run_env[dep.env] = f"http://{HOST_FROM_CONTAINER}:{state['service_ports'][dep.service]}"
    return run_env


def _start_container(state: dict, m: manifests.Manifest, run_env: dict[str, str]) -> None:
    name = _container_name(state, m.name)
    port = state["service_ports"][m.name]
    podman("rm", "--force", "--ignore", name, check=False)
    argv = run_argv(
        m.name, name=name, tag=state["commit"], host_port=port, env=run_env, network=CONTAINER_NETWORK
    )
    podman(*argv)
    state["containers"].append(name)
    save_state(state)
    try:
        wait_ready(f"http://{HOST}:{port}{m.ready_path}", 60, f"{m.name} container")
    except StageError:
        logs = podman("logs", name, check=False).stdout or ""
        raise StageError(f"{m.name} container not ready: {logs.strip().splitlines()[-3:]}") from None


def _start_edge(state: dict) -> int:
    edge_port = free_port()
    settings = Settings(
        state=STATE_DIR / "edge",
        edge_port=edge_port,
        aws_port=state["moto_port"],
        service_ports=state["service_ports"],
    )
    config = settings.state / "caddy" / "Caddyfile"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(caddyfile(settings))
    state.update(edge_port=edge_port)
    first, *others = manifests.load_all()
    processes(state).start(
        "edge",
        [settings.caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
        edge_env(settings),
        edge_port,
        f"http://{HOST}:{edge_port}{first.ready_path}",
    )
    save_state(state)
    for m in others:
        wait_ready(f"http://{HOST}:{edge_port}{m.ready_path}", 30, f"edge route {m.path_prefix}")
    return edge_port


def stage_run(state: dict) -> None:
    """ECS stand-in: run each service's deployed task definition with podman, then the edge."""
    env = emulator_env(state)
    outputs = _terraform_outputs(env)
    client = clients(env)
    wanted = json.loads(IMAGES_JSON.read_text())["images"]
    state.update(service_ports={m.name: free_port() for m in manifests.load_all()}, containers=[])
    save_state(state)
    for m in start_order(manifests.load_all()):
        container, family = _deployed_container(client, outputs, m.name)
        expected = f"{wanted[m.name]['repository']}@{wanted[m.name]['digest']}"
        if container["image"] != expected:
            raise StageError(f"{m.name}: deployed image {container['image']} is not {expected}")
        _start_container(state, m, _run_env(client, container, m, state))
        print(f"{m.name}: {expected} on {HOST}:{state['service_ports'][m.name]} (task definition {family})")
    print(f"edge on http://{HOST}:{_start_edge(state)}/")


def stage_smoke(state: dict) -> None:
    if "edge_port" not in state:
        raise StageError("nothing runs: run `make rehearsal-run` first")
    env = emulator_env(state)
    smoke_dir = STATE_DIR / "smoke"
    make(
        "smoke", "ENV=local", TF, f"SMOKE_BASE_URL=http://{HOST}:{state['edge_port']}", "SMOKE_TIMEOUT=60",
        f"SMOKE_DIR={smoke_dir}", env=env,
    )  # fmt: skip
    run(
        [sys.executable, "scripts/ci/deploy_record.py", "record", "--env", ENV, "--images", str(IMAGES_JSON)],
        env=env,
    )


def stage_destroy_processes(state: dict) -> None:
    for name in state.get("containers", []):
        podman("rm", "--force", "--ignore", name, check=False)
    processes(state).stop("edge")
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
        processes(state).stop("moto")
    for key in ("moto_pid", "moto_port"):
        state.pop(key, None)
    save_state(state)
    if failure:
        raise failure
