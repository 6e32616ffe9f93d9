"""The whole product on one machine: emulated AWS, both services, the edge and the static site.

Commands (the Makefile wraps them: ``make up``, ``make down``, ``make status``, ``make logs``)::

    python scripts/localstack.py up       # start (or confirm) everything, seed demo data, smoke test
    python scripts/localstack.py down     # stop exactly what `up` started
    python scripts/localstack.py status   # what runs, on which port, healthy or not
    python scripts/localstack.py logs [-f] [--json] [NAME]   # readable; --json: as stored
    python scripts/localstack.py caddyfile  # print the generated edge configuration

What ``up`` does, in order, is told in tooling/stack_commands.py; this file is only the command line.

Ports and folders (environment variables, defaults in brackets):
  LOCAL_EDGE_PORT [8080]         the one URL a person opens
  LOCAL_AWS_PORT [4566]          the AWS emulator
  LOCAL_PORT_<SERVICE> [manifest port]   e.g. LOCAL_PORT_CATALOG=8081, LOCAL_PORT_ORDERS=8082
  LOCAL_STATE_DIR [.local]       pids/, logs/, secrets.env, caddy/, reports/
  LOCAL_EDGE_MAX_BODY [1MB]      request body limit at the edge (Caddy size syntax)
  LOCAL_EDGE_READ_TIMEOUT [30s]  client read timeout of the edge (its request head: at most 10s)

Every started process is recorded in ``<state>/pids/<name>.json`` (pid, start time, command line);
``down`` only signals a pid whose start time and command line still match that record
(tooling/supervisor.py).

Exit codes: 0 success, 1 something failed (one line says what), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from botocore.exceptions import BotoCoreError, ClientError
from tooling import stack_commands, stack_logs
from tooling.edge_config import caddyfile
from tooling.stack_commands import component_names, say
from tooling.stack_settings import Settings, StackError


def _up(args: argparse.Namespace, settings: Settings) -> int:
    say(f"Starting the local stack (state in {settings.rel(settings.state)}/)")
    stack_commands.up(settings, seed=not args.no_seed, smoke=not args.no_smoke)
    return 0


def _down(args: argparse.Namespace, settings: Settings) -> int:
    stack_commands.down(settings, args.names)
    return 0


def _status(_args: argparse.Namespace, settings: Settings) -> int:
    return stack_commands.status(settings)


def _logs(args: argparse.Namespace, settings: Settings) -> int:
    return stack_logs.logs(settings, args.name, args.follow, args.lines, raw=args.json)


def _caddyfile(_args: argparse.Namespace, settings: Settings) -> int:
    sys.stdout.write(caddyfile(settings))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="start everything (idempotent)")
    p_up.add_argument("--no-seed", action="store_true", help="do not create demo products")
    p_up.add_argument("--no-smoke", action="store_true", help="do not run the smoke test at the end")
    p_up.set_defaults(func=_up)
    p_down = sub.add_parser("down", help="stop what `up` started (or only the components named)")
    p_down.add_argument("names", nargs="*", help="components to stop (moto, a service name, edge)")
    p_down.set_defaults(func=_down)
    sub.add_parser("status", help="show what runs and whether it is healthy").set_defaults(func=_status)
    p_logs = sub.add_parser("logs", help="show recent log lines")
    p_logs.add_argument("name", nargs="?", help="one component (moto, a service name, edge)")
    p_logs.add_argument("-f", "--follow", action="store_true")
    p_logs.add_argument("-n", "--lines", type=int, default=30)
    p_logs.add_argument("--json", action="store_true", help="the lines as stored (JSON), not readable")
    p_logs.set_defaults(func=_logs)
    sub.add_parser("caddyfile", help="print the generated edge configuration").set_defaults(func=_caddyfile)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    names = [*getattr(args, "names", []), *([args.name] if getattr(args, "name", None) else [])]
    unknown = [n for n in names if n not in component_names()]
    if unknown:
        parser.error(f"unknown component(s) {', '.join(unknown)}; one of {', '.join(component_names())}")
    try:
        return args.func(args, Settings.from_env())
    except StackError as exc:
        print(f"localstack: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"localstack: AWS emulator call failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
