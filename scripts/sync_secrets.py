"""Make AWS Secrets Manager hold exactly the secrets the service manifests declare.

The same script runs in the pipeline (dev, prod) and on a developer machine (``local``, the
emulator). The list of secrets is declarative: every *owned* secret of every service manifest
(``from:`` references reuse another service's secret and are not separate secrets).

Values come from environment variables named ``<SERVICE>_<SECRET>`` upper-cased (for example
``CATALOG_API_KEY``; in GitHub Actions these are environment secrets), or, for development, from
a ``KEY=VALUE`` file given with ``--values-file`` (then only from that file). Never from the repo.

Who owns what: in dev and prod, Terraform (infra/stack) creates each secret (name, tags,
description, recovery window) and this script writes only its value (``--require-existing``
refuses to create one, so the two never race). On the emulator without Terraform (``make up``)
the script creates missing secrets itself, tagged with service, environment and managed-by.
An existing secret's tags and description are left alone, so Terraform sees no drift.

Output names secrets only, never values: one line per secret, ``created``, ``updated``,
``unchanged``, ``missing value``, ``failed`` (and ``pruned`` with ``--prune``). Values are compared
by SHA-256 against the secret's current value. Under GitHub Actions every value is first
registered with ``::add-mask::`` so the runner hides it from all later log lines.

Exit codes (a pipeline can act on them):
  0  success: everything in sync (also: dry run, unless --detailed-exitcode and changes pending)
  1  at least one secret failed (the others are still processed and reported)
  2  usage error or a required value missing: nothing was written
  3  only with --dry-run --detailed-exitcode: changes are pending

Examples::

    CATALOG_API_KEY=... CATALOG_SERVICE_TOKEN=... ORDERS_API_KEY=... \\
        python scripts/sync_secrets.py --env dev --dry-run
    python scripts/sync_secrets.py --env local --values-file .local/secrets.env
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import manifests
from botocore.exceptions import BotoCoreError, ClientError

MANAGED_BY = "sync_secrets"
ENVIRONMENTS = ("dev", "prod", "local")
MIN_RECOVERY_DAYS = 7
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CHANGES = 0, 1, 2, 3
_KEY_LINE = re.compile(r"^(?:export\s+)?([A-Z][A-Z0-9_]*)=(.*)$")


class UsageError(Exception):
    """Bad arguments or missing values: reported on one line, exit 2, nothing written."""


@dataclass(frozen=True)
class Wanted:
    service: str
    name: str  # secret name in the manifest, e.g. API_KEY
    secret_id: str  # Secrets Manager name, e.g. storefront/dev/catalog/API_KEY
    variable: str  # where its value comes from, e.g. CATALOG_API_KEY
    description: str


def variable_name(service: str, secret: str) -> str:
    """Environment variable that carries a secret's value: ``<SERVICE>_<SECRET>``."""
    return f"{service.upper().replace('-', '_')}_{secret}"


def wanted_secrets(env: str) -> list[Wanted]:
    """Every owned secret of every manifest, in a stable order."""
    return [
        Wanted(
            service=m.name,
            name=s.name,
            secret_id=manifests.secret_id(m.name, s.name, env),
            variable=variable_name(m.name, s.name),
            description=s.description,
        )
        for m in manifests.load_all()
        for s in m.secrets
        if s.owned
    ]


def read_values_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments, blank lines and ``export`` allowed; quotes stripped)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read values file {path}: {exc.strerror}") from exc
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _KEY_LINE.match(line)
        if not match:
            # Never echo the line: it may hold a value.
            raise UsageError(f"{path}:{number}: not a KEY=VALUE line")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _tags(item: Wanted, env: str) -> list[dict[str, str]]:
    return [
        {"Key": "project", "Value": manifests.project_name()},
        {"Key": "service", "Value": item.service},
        {"Key": "environment", "Value": env},
        {"Key": "managed-by", "Value": MANAGED_BY},
    ]


def _error_text(exc: Exception) -> str:
    """A one-line reason for an AWS failure, without request parameters (they may hold values)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()
    return type(exc).__name__


class Syncer:
    def __init__(
        self, client, env: str, dry_run: bool, kms_key_id: str | None, require_existing: bool = False
    ) -> None:
        self.sm = client
        self.require_existing = require_existing
        self.env = env
        self.dry_run = dry_run
        self.kms_key_id = kms_key_id

    def _describe(self, secret_id: str) -> dict | None:
        try:
            return self.sm.describe_secret(SecretId=secret_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise

    def sync_one(self, item: Wanted, value: str) -> str:
        """Bring one secret in line; returns its outcome word. Raises on AWS failure."""
        current = self._describe(item.secret_id)
        if current is None:
            if self.require_existing:
                raise RuntimeError(
                    "does not exist: apply the environment's infra first (it creates the secret)"
                )
            if not self.dry_run:
                kwargs = {"KmsKeyId": self.kms_key_id} if self.kms_key_id else {}
                self.sm.create_secret(
                    Name=item.secret_id,
                    Description=item.description,
                    SecretString=value,
                    Tags=_tags(item, self.env),
                    **kwargs,
                )
            return "created"
        if current.get("DeletedDate"):
            raise RuntimeError(
                "scheduled for deletion; restore it first (aws secretsmanager restore-secret --secret-id "
                f"{item.secret_id}) or wait for the deletion to complete"
            )
        try:
            stored = self.sm.get_secret_value(SecretId=item.secret_id).get("SecretString")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            stored = None  # the secret exists but has no current value yet
        kms_differs = bool(self.kms_key_id) and current.get("KmsKeyId") != self.kms_key_id
        same = stored is not None and hmac.compare_digest(_digest(stored), _digest(value))
        if same and not kms_differs:
            return "unchanged"
        if not self.dry_run:
            if kms_differs:
                self.sm.update_secret(SecretId=item.secret_id, KmsKeyId=self.kms_key_id)
            if not same:
                self.sm.put_secret_value(SecretId=item.secret_id, SecretString=value)
        return "updated"

    def stale(self, wanted: set[str]) -> list[str]:
        """Names of secrets this script manages in this environment that no manifest declares."""
        found: list[str] = []
        paginator = self.sm.get_paginator("list_secrets")
        for page in paginator.paginate(
            Filters=[
                {"Key": "tag-key", "Values": ["managed-by"]},
                {"Key": "tag-value", "Values": [MANAGED_BY]},
            ]
        ):
            for s in page.get("SecretList", []):
                tags = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
                if (
                    tags.get("managed-by") == MANAGED_BY
                    and tags.get("environment") == self.env
                    and tags.get("project") == manifests.project_name()
                    and s["Name"] not in wanted
                    and not s.get("DeletedDate")
                ):
                    found.append(s["Name"])
        return sorted(found)

    def prune(self, secret_id: str, recovery_days: int) -> None:
        if not self.dry_run:
            self.sm.delete_secret(SecretId=secret_id, RecoveryWindowInDays=recovery_days)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Exit codes: 0 ok, 1 a secret failed, 2 usage/missing value, 3 dry run with changes "
        "(with --detailed-exitcode).",
    )
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS, help="target environment")
    parser.add_argument("--values-file", type=Path, help="KEY=VALUE file (development only)")
    parser.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    parser.add_argument(
        "--detailed-exitcode", action="store_true", help="with --dry-run: exit 3 when changes are pending"
    )
    parser.add_argument("--kms-key-id", help="customer-managed KMS key (id, ARN or alias) for the secrets")
    parser.add_argument(
        "--require-existing",
        action="store_true",
        help="never create a secret: fail for one that does not exist (dev/prod: Terraform creates them)",
    )
    parser.add_argument(
        "--prune", action="store_true", help="schedule deletion of managed secrets no manifest declares"
    )
    parser.add_argument(
        "--recovery-window-days",
        type=int,
        default=30,
        help=f"recovery window for --prune ({MIN_RECOVERY_DAYS}-30 days, default 30)",
    )
    args = parser.parse_args(argv)
    if not MIN_RECOVERY_DAYS <= args.recovery_window_days <= 30:
        parser.error(f"--recovery-window-days must be between {MIN_RECOVERY_DAYS} and 30")
    if args.detailed_exitcode and not args.dry_run:
        parser.error("--detailed-exitcode only makes sense with --dry-run")
    return args


def _inputs(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[list[Wanted], Mapping[str, str]]:
    """The declared secrets and where their values come from. Raises UsageError/ValueError."""
    wanted = wanted_secrets(args.env)
    source = read_values_file(args.values_file) if args.values_file else dict(environ)
    return wanted, source


def _usage_problem(
    args: argparse.Namespace, environ: Mapping[str, str], wanted: list[Wanted], source: Mapping[str, str]
) -> str | None:
    """Why nothing may be written (missing values are listed on stdout first), or None."""
    if args.env == "local" and not environ.get("AWS_ENDPOINT_URL"):
        return "--env local writes to the emulator only: set AWS_ENDPOINT_URL"
    missing = [w for w in wanted if not source.get(w.variable)]
    for w in missing:
        print(f"missing value  {w.secret_id}  (set {w.variable})")
    if missing:
        where = args.values_file or "the environment"
        return f"{len(missing)} required value(s) missing from {where}; nothing was written"
    return None


def _mask_values(environ: Mapping[str, str], wanted: list[Wanted], source: Mapping[str, str]) -> None:
    if environ.get("GITHUB_ACTIONS") == "true":
        for w in wanted:
            # The runner hides a masked string from every later log line.
            print(f"::add-mask::{source[w.variable]}", flush=True)


@dataclass
class _Outcomes:
    """Outcome counts and failed names of one run, printed with the run's prefix."""

    prefix: str
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def fail(self, name: str, what: str, reason: str) -> None:
        self.failed.append(name)
        print(f"{self.prefix}failed     {what}: {reason}")


def _sync_all(syncer: Syncer, wanted: list[Wanted], source: Mapping[str, str], tally: _Outcomes) -> None:
    for w in wanted:
        try:
            outcome = syncer.sync_one(w, source[w.variable])
        except (ClientError, BotoCoreError, RuntimeError) as exc:
            reason = str(exc) if isinstance(exc, RuntimeError) else _error_text(exc)
            outcome = "failed"
            tally.fail(w.secret_id, w.secret_id, reason)
        else:
            print(f"{tally.prefix}{outcome:<10} {w.secret_id}")
        tally.count(outcome)


def _prune_stale(syncer: Syncer, wanted: list[Wanted], days: int, tally: _Outcomes) -> None:
    try:
        stale = syncer.stale({w.secret_id for w in wanted})
    except (ClientError, BotoCoreError) as exc:
        tally.fail("(prune listing)", "listing secrets to prune", _error_text(exc))
        stale = []
    for name in stale:
        try:
            syncer.prune(name, days)
        except (ClientError, BotoCoreError) as exc:
            tally.fail(name, name, _error_text(exc))
            continue
        print(f"{tally.prefix}pruned     {name} (recoverable for {days} days)")
        tally.count("pruned")


def _exit_code(args: argparse.Namespace, environ: Mapping[str, str], tally: _Outcomes) -> int:
    """Print the summary (and the failures) and choose the exit code."""
    summary = ", ".join(f"{n} {k}" for k, n in sorted(tally.counts.items()))
    print(f"{tally.prefix}sync_secrets ({args.env}): {summary}")
    if tally.failed:
        names = ", ".join(tally.failed)
        if environ.get("GITHUB_ACTIONS") == "true":
            print(f"::error title=sync_secrets::{len(tally.failed)} secret(s) failed: {names}")
        print(f"sync_secrets: {len(tally.failed)} secret(s) failed: {names}", file=sys.stderr)
        return EXIT_FAILED
    changes = sum(tally.counts.get(k, 0) for k in ("created", "updated", "pruned"))
    if args.dry_run and args.detailed_exitcode and changes:
        return EXIT_CHANGES
    return EXIT_OK


def run(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    args = _parse(argv)
    try:
        wanted, source = _inputs(args, environ)
    except (UsageError, ValueError) as exc:
        print(f"sync_secrets: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = _usage_problem(args, environ, wanted, source)
    if problem:
        print(f"sync_secrets: {problem}", file=sys.stderr)
        return EXIT_USAGE
    _mask_values(environ, wanted, source)
    try:
        client = boto3.client("secretsmanager")
    except BotoCoreError as exc:  # e.g. no region configured
        print(f"sync_secrets: cannot create an AWS client: {exc}", file=sys.stderr)
        return EXIT_USAGE
    syncer = Syncer(client, args.env, args.dry_run, args.kms_key_id, args.require_existing)
    tally = _Outcomes("(dry run) " if args.dry_run else "")
    _sync_all(syncer, wanted, source, tally)
    if args.prune:
        _prune_stale(syncer, wanted, args.recovery_window_days, tally)
    return _exit_code(args, environ, tally)


if __name__ == "__main__":
    sys.exit(run())
